"""What is on disk under a directory, to show that code wrote nothing."""

import os


def listing(root):
  """{relative path: (size, mtime_ns)} of root and everything under it."""
  found = {}
  for directory, subdirs, files in os.walk(root):
    for name in ['', *subdirs, *files]:
      path = os.path.join(directory, name) if name else directory
      info = os.lstat(path)
      found[os.path.relpath(path, root)] = (info.st_size, info.st_mtime_ns)
  return found
