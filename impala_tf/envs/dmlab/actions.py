"""The 9-action discrete DMLab action set of the paper (Table D.2).

The agent picks an index in [0, 9); the environment sends DeepMind Lab the row
``ACTION_SET[index]``, a 7-vector of ``np.intc`` in DMLab's native action order
(``NATIVE_ACTION_NAMES``). Look actions turn by 20 pixels per frame, and with an
action repeat of 4 the same vector is applied on each of the 4 frames.
"""

from typing import Tuple

import numpy as np

# DMLab's native action vector layout (what ``Lab.action_spec()`` lists).
NATIVE_ACTION_NAMES: Tuple[str, ...] = (
    'LOOK_LEFT_RIGHT_PIXELS_PER_FRAME',
    'LOOK_DOWN_UP_PIXELS_PER_FRAME',
    'STRAFE_LEFT_RIGHT',
    'MOVE_BACK_FORWARD',
    'FIRE',
    'JUMP',
    'CROUCH',
)

# Human-readable name of each discrete action, by index.
ACTION_NAMES: Tuple[str, ...] = (
    'forward',
    'backward',
    'strafe_left',
    'strafe_right',
    'look_left',
    'look_right',
    'look_left_forward',
    'look_right_forward',
    'fire',
)

_LOOK = 20  # pixels per frame

# [9, 7] np.intc; row i is the DMLab action for discrete action i.
ACTION_SET = np.array(
    [
        # look_lr, look_du, strafe, move, fire, jump, crouch
        [0, 0, 0, 1, 0, 0, 0],        # forward
        [0, 0, 0, -1, 0, 0, 0],       # backward
        [0, 0, -1, 0, 0, 0, 0],       # strafe left
        [0, 0, 1, 0, 0, 0, 0],        # strafe right
        [-_LOOK, 0, 0, 0, 0, 0, 0],   # look left
        [_LOOK, 0, 0, 0, 0, 0, 0],    # look right
        [-_LOOK, 0, 0, 1, 0, 0, 0],   # look left + forward
        [_LOOK, 0, 0, 1, 0, 0, 0],    # look right + forward
        [0, 0, 0, 0, 1, 0, 0],        # fire
    ],
    dtype=np.intc)
ACTION_SET.setflags(write=False)

NUM_ACTIONS = ACTION_SET.shape[0]
