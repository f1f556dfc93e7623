"""sdumc: the double-flow self-distillation model with Unified Modality Cross-Attention
(after Weng et al. 2024) -- corpus generation, encoders, network, training, evaluation, export.

Run modules from the `models/` folder: `../.venv/bin/python -m sdumc.<module> --help`.
"""
