"""
Neuroformer: pretrain a spike GPT, generate activity, read connectivity, decode behaviour
=========================================================================================

Neuroformer (Antoniades et al., ICLR 2024) treats spiking activity like text:
every spike becomes a token made of the neuron's ID and its time inside a short
window, and a multimodal GPT learns to predict the next spike from the spikes of
the past window, the stimulus and behaviour.  A model pretrained this way can

* **generate** activity in closed loop (it feeds itself its own spikes),
* reveal **connectivity**: the attention that a neuron's tokens pay to the past
  spikes of another neuron, compared with uniform attention, and
* be **fine-tuned** with few labels to decode behaviour.

We first work on a simulated network with known wiring, then decode head
direction from a real thalamic recording.
"""

# %%
# A network with hubs and a repeated stimulus
# -------------------------------------------
# The shipped sample ``sample_hub`` is an NWB file made by
# :func:`~neurodata.datasets.make_hub_network`, a Bernoulli GLM: three *hub*
# neurons each drive five targets at known lags (10-30 ms), and every neuron
# sees a bar sweeping over a small image through its receptive field; the same
# one-second stimulus repeats on every trial.  The planted wiring is in the
# units table (``driver``, ``driver_lag``).
import os

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.metrics import roc_auc_score

import neurodata as nd
from neurodata.datasets import hub_connectivity, reference_file
from neurodata.neuroformer import (
    BehaviourDecoder,
    Neuroformer,
    RidgeDecoder,
    SpikeTokenizer,
    attention_connectivity,
    behaviour_scores,
    plot_attention_connectivity,
    plot_generated_raster,
    plot_history,
    poisson_null,
    psth,
    psth_correlation,
    window_counts,
)

FAST = bool(os.environ.get("NEURODATA_FAST"))
torch.set_num_threads(1)

n_test = 20
ds = nd.load_sample("sample_hub")                 # 100 one-second trials
trials = np.c_[ds.trial_start_time.values, ds.trial_stop_time.values]
if FAST:                                          # a quicker run: 40 training trials
    trials = trials[-(40 + n_test):]
train_iv, test_iv = trials[:-n_test], trials[-n_test:]
print(ds)

fig, axes = plt.subplots(1, 5, figsize=(9, 2))
for ax, k in zip(axes, range(0, 20, 4)):
    ax.imshow(ds.stimulus.values[k], cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"t = {ds.time_stimulus.values[k]:.2f} s", fontsize=8)
    ax.axis("off")
fig.suptitle("the stimulus (first 0.8 s of every trial)")

# %%
# Spikes become tokens
# --------------------
# A :class:`~neurodata.neuroformer.SpikeTokenizer` cuts time into 50 ms
# *current-state* windows.  Each spike in a window is a (neuron, dt) token, dt
# being its time from the window start rounded to 10 ms; the window's tokens
# are the target, read after an SOS token and closed by EOS.  The spikes of the
# 50 ms before it (the *past state*) are the context.
tok = SpikeTokenizer(window=0.05, window_prev=0.05, dt=0.01).fit(ds, intervals=train_iv)
w = tok.transform(ds, intervals=train_iv[:1])
k = int(np.argmax(w.n_current[:10]))
n = w.n_current[k]
print("window starting at", w.start[k], "s")
print("  input IDs :", w.x_id[k, : n + 1].tolist(), " (SOS =", tok.sos_, ")")
print("  target IDs:", w.y_id[k, : n + 1].tolist(), " (EOS =", tok.eos_, ")")
print("  target dt :", w.y_dt[k, : n + 1].tolist())
print("  past IDs  :", w.prev_id[k, : w.n_prev[k] + 2].tolist())

# %%
# Pretrain
# --------
# The paper's configuration (256 features, 6 layers per stage) is far too big
# for this small network; one layer per stage and 48 features train on one CPU
# core in well under a minute.  The stimulus clip of each window (the last
# 0.1 s of frames) is cut into patches by a 3D convolution; a contrastive (CLIP)
# term aligns the neural and stimulus embeddings.
model = Neuroformer(
    n_embd=48, n_head=4, n_state_layers=1, n_history_layers=1, n_stimulus_layers=1,
    n_self_layers=1, dropout=0.0, window_prev=0.05, frame_window=0.1, frame_kernel=(2, 1, 1),
    contrastive=True, clip_embd=32, n_epochs=8 if FAST else 12, batch_size=16, learning_rate=2e-3,
    random_state=0, progress=False,
)
model.fit(ds, intervals=train_iv, stimulus="stimulus")
hist = model.history_
plot_history(hist).set_title("pretraining")

# %%
# Generate activity in closed loop
# --------------------------------
# For each held-out trial the model starts from the true past state, then sees
# only its own spikes (and the true stimulus).  Tokens are drawn with nucleus
# (top-p = 0.95) sampling.  The result is a recording like any other.
gen = model.generate(ds, intervals=test_iv, stimulus="stimulus", random_state=0)
nd.validate(gen)
real = ds.isel(trial=slice(-n_test, None))

plot_generated_raster(gen, ds, trial=0)

# %%
# PSTHs of generated and held-out trials
# --------------------------------------
# The stimulus-locked firing (the PSTH) of the generated trials follows the
# real one; a homogeneous Poisson process with each neuron's mean rate (the
# null) does not.
r_gen = psth_correlation(gen, real)
r_null = psth_correlation(poisson_null(real, random_state=1), real)
rate_ratio = gen.sizes["spike"] / float(((ds.spike_times >= test_iv[0, 0])
                                         & (ds.spike_times < test_iv[-1, 1])).sum())
print(f"PSTH correlation: generated {float(r_gen.mean()):.2f}, Poisson null "
      f"{float(r_null.mean()):.2f}; generated / real firing rate {rate_ratio:.2f}")
p_real, p_gen = psth(real, bin_size=0.05), psth(gen, bin_size=0.05)
fig, axes = plt.subplots(1, 4, figsize=(10, 2.5), sharex=True)
for ax, unit in zip(axes, np.argsort(-r_gen.fillna(-1).values)[:4]):
    ax.plot(p_real.time_rel, p_real[:, unit], label="real")
    ax.plot(p_gen.time_rel, p_gen[:, unit], label="generated")
    ax.set_title(f"neuron {unit}, r = {float(r_gen[unit]):.2f}", fontsize=9)
    ax.set_xlabel("time in trial (s)")
axes[0].set_ylabel("rate (Hz)")
axes[0].legend(fontsize=7)

# %%
# Connectivity from attention
# ---------------------------
# In the past-state cross-attention, the tokens that predict neuron *t* attend to
# the past tokens of every neuron *s*.  Summed over windows and divided by what
# uniform attention would give, this is a (target, source) matrix; the hubs'
# columns light up at their targets, and the direction is right: a target looks
# at its hub's past, not the other way round.
conn = attention_connectivity(model, ds, intervals=test_iv, stimulus="stimulus")
truth = hub_connectivity(ds).values
off = ~np.eye(truth.shape[0], dtype=bool)
auroc = roc_auc_score(truth[off], np.nan_to_num(conn.values[off]))
tt, ss = np.nonzero(truth)
direction = np.mean(conn.values[tt, ss] > conn.values[ss, tt])
print(f"edges: AUROC {auroc:.2f}; direction right for {direction:.0%} of true edges")
plot_attention_connectivity(conn, truth)

# %%
# Decoding head direction from a real recording
# ---------------------------------------------
# The pynapple test session holds 15 units of the mouse anterodorsal thalamus,
# many of them head-direction cells, and the head angle tracked during wake
# (``compass_direction_ry``, 670-1200 s: of the three compass angles it is the
# one the units are tuned to).  We pretrain on spikes only (sleep and
# the first 80 % of wake), then fine-tune a head that outputs the sine and cosine
# of head direction at the centre of each 50 ms window, with 1 %, 10 % or all of
# the labelled windows (the full run below also tries 0.1 %), starting from the pretrained weights or from scratch, and
# score it on the held-out last 20 % of wake against ridge regression on the
# spike counts of the same 0.2 s.
#
# With the full settings (``benchmarks/bench_neuroformer_decoding.py``: 8
# pretraining epochs over sleep and 80 % of wake, 500 fine-tuning steps, three
# label draws) this gave, in each cell, Pearson r (mean ± sd over the draws),
# R² (both averaged over sine and cosine) and the median angular error:
#
# ======  =====  =======================  =======================  =======================  =======================
# labels  n      pretrained               from scratch             ridge                    Poisson GLM
# ======  =====  =======================  =======================  =======================  =======================
# 0.1 %   8      0.73 ± 0.06, 0.41, 19°   0.64 ± 0.17, 0.26, 23°   0.67 ± 0.08, 0.33, 23°   0.72 ± 0.07, 0.28, 20°
# 1 %     85     0.89 ± 0.01, 0.75, 11°   0.86 ± 0.02, 0.69, 12°   0.86 ± 0.01, 0.71, 10°   0.91 ± 0.00, 0.77, 11°
# 10 %    847    0.94 ± 0.00, 0.87, 9°    0.94 ± 0.00, 0.88, 9°    0.88 ± 0.00, 0.75, 9°    0.91 ± 0.00, 0.78, 11°
# 100 %   8466   0.95 ± 0.00, 0.90, 8°    0.95 ± 0.00, 0.90, 8°    0.89 ± 0.00, 0.77, 9°    0.91 ± 0.00, 0.78, 11°
# ======  =====  =======================  =======================  =======================  =======================
#
# Here the run is much shorter (in fast mode, shorter still).
nwb = reference_file("nwb/pynapple_neurosuite_A2929-200711.nwb")
if nwb is None:
    print("The real-data section is skipped: the reference data folder is absent "
          "(set NEURODATA_SHARED_DATA to the shared data folder).")
else:
    rec = nd.open_nwb(nwb)[["spike_times", "spike_unit", "compass_direction_ry"]].load()
    hd = rec["compass_direction_ry"]
    targets = [np.sin(hd).rename("hd_sin"), np.cos(hd).rename("hd_cos")]
    train_span, test_span = (670.7, 1094.0), (1094.0, 1140.0 if FAST else 1199.95)
    pre = Neuroformer(n_embd=64, n_head=4, n_state_layers=1, n_history_layers=2,
                      n_self_layers=1, dropout=0.1, learning_rate=1e-3, n_epochs=1,
                      random_state=0, progress=False)
    pre.fit(rec, intervals=[(500.0, 560.0)] if FAST else [(0.2, 600.0), (600.0, 1094.0)])
    w_tr, _ = pre.windows(rec, intervals=[train_span])
    w_te, _ = pre.windows(rec, intervals=[test_span])

    def at_centres(w):
        return np.stack([t.interp({t.dims[0]: w.start + 0.025}).values for t in targets], 1)

    y_tr, y_te = at_centres(w_tr), at_centres(w_te)
    X_tr = window_counts(rec, w_tr.start, window=0.05, window_prev=0.15)
    X_te = window_counts(rec, w_te.start, window=0.05, window_prev=0.15)
    rows = []
    for fraction in (0.01, 1.0) if FAST else (0.01, 0.1, 1.0):
        row = {}
        for name, scratch in (("pretrained", False), ("from scratch", True)):
            dec = BehaviourDecoder(pre, from_scratch=scratch, fraction=fraction,
                                   steps=20 if FAST else 200, learning_rate=1e-3,
                                   progress=False).fit(rec, targets, intervals=[train_span])
            row[name] = dec.predict(rec, intervals=[test_span]).values
        ridge = RidgeDecoder().fit(X_tr[dec.train_index_], y_tr[dec.train_index_])
        row["ridge"] = ridge.predict(X_te)
        rows.append((fraction, len(dec.train_index_), row))
    print(f"{'labels':>7} {'n':>5}  " + "  ".join(f"{m:>22}" for m in rows[0][2]))
    for fraction, n_lab, row in rows:
        cells = []
        for pred in row.values():
            s = behaviour_scores(pred, y_te, circular=True)
            cells.append(f"r {float(s.r.mean()):.2f}, {float(s.angle_error_deg):4.0f} deg")
        print(f"{fraction:7.0%} {n_lab:5d}  " + "  ".join(f"{c:>22}" for c in cells))

    fig, ax = plt.subplots(figsize=(8, 2.5))
    t = w_te.start + 0.025
    ax.plot(t, np.degrees(np.arctan2(*y_te.T)) % 360, ".", ms=2, label="tracked")
    pred = rows[-1][2]["pretrained"]
    ax.plot(t, np.degrees(np.arctan2(*pred.T)) % 360, ".", ms=2, label="decoded (all labels)")
    ax.set(xlabel="time (s)", ylabel="head direction (deg)", xlim=(t[0], t[0] + 60))
    ax.legend(markerscale=4, fontsize=7)

plt.show()
