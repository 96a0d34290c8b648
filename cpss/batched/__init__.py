"""The batched engine: many independent venue days as one torch program (CPU or CUDA).

:mod:`~cpss.batched.venue` holds the state of B days as flat tensors and runs the tick,
:mod:`~cpss.batched.decisions` the decision phase, :mod:`~cpss.batched.ops` the tensor helpers
and :mod:`~cpss.batched.io` the import of numpy models and the day summaries. The equations come
from :mod:`cpss.venue.equations` (their torch forms).
"""
