"""Training data: point-in-time correct joins of features to labels, the offline twin of ``serving``.

``get_training_frame`` checks the request (``inputs``, ``request``), chooses an engine (``engine``), builds
the engine-neutral plan (``aquifer.planning.pit``) and hands it to DuckDB or Spark (``aquifer.engines``).
``read_label_file`` reads a labels file by the sources' time rules.
"""

from aquifer.training.frame import get_training_frame
from aquifer.training.inputs import NoOfflineDataWarning, TrainingInputError
from aquifer.training.label_files import read_label_file

__all__ = [
    "NoOfflineDataWarning",
    "TrainingInputError",
    "get_training_frame",
    "read_label_file",
]
