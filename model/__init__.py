"""The relevance model: learns from editors' decisions which works are relevant.

Pure machine learning over plain values: it never opens the database. A trained model is
plain data (``Model.to_data`` / ``Model.from_data``), never a pickle.
"""

from litmon.model.evaluate import cross_validate
from litmon.model.features import Doc
from litmon.model.linear import Contribution, Model, fit
from litmon.model.simulate import SimulationResult, simulate

__all__ = [
    "Contribution",
    "Doc",
    "Model",
    "SimulationResult",
    "cross_validate",
    "fit",
    "simulate",
]
