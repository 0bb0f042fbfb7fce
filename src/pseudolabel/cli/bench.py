"""``pseudolabel bench``: the command is defined in :mod:`pseudolabel.bench.command` (one definition
for ``pseudolabel bench`` and ``python -m pseudolabel.bench``); this module registers it."""

from pseudolabel.bench.command import bench, click_command, command_line

__all__ = ["bench", "click_command", "command_line"]
