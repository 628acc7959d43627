"""Git-backed volumes: every write through the product is a commit (see ``volume.py``)."""

from llmos_jupyter._volumes.config import author, load_config, team_writable
from llmos_jupyter._volumes.errors import (
    RevisionNotFound,
    VolumeError,
    VolumeGitError,
    VolumeLocked,
    VolumeReadOnly,
)
from llmos_jupyter._volumes.volume import GITIGNORE, Revision, Volume, write_product_file

__all__ = [
    "GITIGNORE",
    "Revision",
    "RevisionNotFound",
    "Volume",
    "VolumeError",
    "VolumeGitError",
    "VolumeLocked",
    "VolumeReadOnly",
    "author",
    "load_config",
    "team_writable",
    "write_product_file",
]
