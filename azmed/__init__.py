"""AZ-Med: Absolute-Zero style self-play for clinical reasoning.

Subpackages: `azmed.envs` (environment protocol, clinical and code environments),
`azmed.sandbox` (isolated execution of model-written programs), `azmed.selfplay`
(the trainer), plus model loading, evaluation, fine-tuning and the `azmed` CLI.
Heavy dependencies (torch, transformers) are imported only where they are used.

Importing the package bounds oneDNN's primitive cache (torch's CPU kernels) to
`KERNEL_CACHE_CAPACITY` kernels unless `ONEDNN_PRIMITIVE_CACHE_CAPACITY` is set already: with the
default of 1,024, a kernel kept per matmul shape made resident memory climb over a run (8 warm-up
steps of the main config: +466 to +574 MB in three runs, against +74 and +231 MB in two with 32,
at the same step times; see the README, Measured figures). It must be set before torch builds its
first kernel, so it is set here, before torch is imported.
"""

import os

__version__ = "0.1.0"
KERNEL_CACHE_CAPACITY = 32

os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(KERNEL_CACHE_CAPACITY))
