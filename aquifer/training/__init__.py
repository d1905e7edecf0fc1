"""Training data: point-in-time correct joins of features to labels, the offline twin of ``serving``.

``get_training_frame`` returns the whole frame; ``iter_training_batches`` streams the same frame as Arrow
record batches. Both check the request (``inputs``, ``request``), choose an engine (``engine``), build the
engine-neutral plan (``aquifer.planning.pit``) and hand it to DuckDB or Spark (``aquifer.engines``).
``read_label_file`` reads a labels file by the sources' time rules.
"""

from aquifer.training.batches import iter_training_batches
from aquifer.training.frame import get_training_frame
from aquifer.training.inputs import NoOfflineDataWarning, TrainingInputError
from aquifer.training.label_files import read_label_file

__all__ = [
    "NoOfflineDataWarning",
    "TrainingInputError",
    "get_training_frame",
    "iter_training_batches",
    "read_label_file",
]
