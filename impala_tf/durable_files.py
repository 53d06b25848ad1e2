"""Small file-system primitives for crash-safe writes (used by checkpointing
and checkpoint_temp_entries).

  fsync_file(path), fsync_dir(path)   make writes/renames durable
  write_durably(path, text)           write + fsync one file
  remove(path)                        a file or a directory tree
  pid_alive(pid), host_tag()          who owns a temporary entry
"""

import os
import re
import shutil
import socket


def host_tag():
  return re.sub(r'[^A-Za-z0-9._]', '_', socket.gethostname())[:64] or 'host'


def fsync_file(path):
  fd = os.open(path, os.O_RDONLY)
  try:
    os.fsync(fd)
  finally:
    os.close(fd)


def fsync_dir(path):
  """Makes renames/creations inside ``path`` durable (best effort)."""
  try:
    fd = os.open(path, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
  except OSError:
    return  # e.g. Windows: directories cannot be opened.
  try:
    os.fsync(fd)
  except OSError:
    pass  # Some file systems do not support fsync on directories.
  finally:
    os.close(fd)


def write_durably(path, text):
  fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
  try:
    data = text.encode('utf-8')
    while data:
      data = data[os.write(fd, data):]
    os.fsync(fd)
  finally:
    os.close(fd)


def pid_alive(pid):
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except OSError:  # PermissionError: exists but belongs to another user.
    return True
  return True


def remove(path):
  if os.path.isdir(path) and not os.path.islink(path):
    shutil.rmtree(path)
  else:
    os.unlink(path)
