"""Neuroformer: multimodal generative pretraining on spiking data (Antoniades et al. 2024).

Tokenize spikes into (neuron-ID, dt) windows, pretrain a multimodal GPT on them,
generate activity in closed loop, read connectivity out of attention, and
fine-tune a behaviour decoder with few labels.
"""

from __future__ import annotations

from neurodata.neuroformer._estimator import Neuroformer
from neurodata.neuroformer._generate import sample_logits
from neurodata.neuroformer._metrics import (
    PoissonGLMDecoder,
    RidgeDecoder,
    behaviour_scores,
    id_prediction_scores,
    poisson_null,
    psth,
    psth_correlation,
    window_counts,
)
from neurodata.neuroformer._model import NeuroformerConfig, NeuroformerNet
from neurodata.neuroformer._plot import (
    plot_attention_connectivity,
    plot_generated_raster,
    plot_history,
)
from neurodata.neuroformer._readouts import BehaviourDecoder, attention_connectivity
from neurodata.neuroformer._tokenizer import SpikeTokenizer, SpikeWindows
from neurodata.neuroformer._train import train_network

__all__ = [
    "BehaviourDecoder",
    "Neuroformer",
    "NeuroformerConfig",
    "NeuroformerNet",
    "PoissonGLMDecoder",
    "RidgeDecoder",
    "SpikeTokenizer",
    "SpikeWindows",
    "attention_connectivity",
    "behaviour_scores",
    "id_prediction_scores",
    "plot_attention_connectivity",
    "plot_generated_raster",
    "plot_history",
    "poisson_null",
    "psth",
    "psth_correlation",
    "sample_logits",
    "train_network",
    "window_counts",
]
