"""
RNNs fitted to sparse recordings
================================

Salatiello & Giese (2020) asked whether a recurrent network trained to copy a
circuit's *output* also copies its *internal dynamics*.  Usually it does not:
many networks produce the same output in different ways.  Their remedy is to
also train on the activity of the few neurons one can record, and they found
that even a small sampled fraction makes the network's *unrecorded* units
follow the circuit, and makes the network generalise better to new conditions.

This tutorial rebuilds that experiment with :mod:`neurodata.rnn`:

1. a "biological" teacher: a stability-optimised E/I circuit that turns
   preparatory states into multiphasic, EMG-like outputs for several reaches;
2. students trained with full-FORCE on the output alone, or with hints from a
   sampled fraction of the teacher's units;
3. teacher and student outputs, and the dynamics of the *unsampled* units,
   side by side;
4. similarity against the sampled fraction;
5. the data-constrained, multi-region variant (CURBD, Perich et al. 2020).

Set ``NEURODATA_FAST=1`` for a quick run with a smaller circuit.
"""

# %%
# The teacher
# -----------
# :func:`~neurodata.datasets.make_motor_teacher` builds a stability-optimised
# circuit (Hennequin et al. 2014): a strongly unstable random E/I network whose
# inhibitory weights are optimised until its spectral abscissa is 0.15.  Each
# reach condition starts from a different preparatory state (combinations of
# the two most amplified initial conditions), reached by a ramp during the
# 200 ms preparatory period; a readout of the excitatory rates gives two
# EMG-like outputs.  Odd-numbered conditions are held out for testing.
import os

import matplotlib.pyplot as plt
import numpy as np

from neurodata.datasets import make_motor_teacher, make_three_region_network
from neurodata.rnn import SparseRNN, fit_curbd

FAST = bool(os.environ.get("NEURODATA_FAST"))
N = 60 if FAST else 200
EPOCHS = 10 if FAST else 20
SEEDS = [0] if FAST else [0, 1, 2]

teacher = make_motor_teacher(N, n_conditions=16, random_state=0)
train = teacher.isel(trial=slice(0, None, 2))
test = teacher.isel(trial=slice(1, None, 2))
print(teacher)

fig, axes = plt.subplots(1, 3, figsize=(11, 3))
for c in range(0, 16, 2):
    color = plt.cm.twilight(c / 16)
    axes[0].plot(teacher.time, teacher.outputs[c, :, 0], color=color)
    axes[1].plot(teacher.time, teacher.outputs[c, :, 1], color=color)
axes[2].plot(teacher.time, teacher.rates[0, :, :8])
for ax, title in zip(axes, ["muscle 0", "muscle 1", "8 teacher units, reach 0"]):
    ax.axvline(0, color="k", lw=0.5)
    ax.set(title=title, xlabel="time from movement onset (s)")
axes[2].set_ylabel("rate (Hz)")
fig.tight_layout()

# %%
# Students: output only, and 10 % of the units as hints
# -----------------------------------------------------
# :class:`~neurodata.rnn.SparseRNN` trains a tanh rate network with
# full-FORCE (DePasquale et al. 2018).  Its target-generating network receives
# the teacher's output and, with ``sampled_fraction > 0``, the activity of the
# sampled teacher units as *hints*; RLS then trains every recurrent weight so
# that the student reproduces the target network's currents.
# ``sampled_fraction=0`` is the output-only baseline.
students = {}
for fraction in (0.0, 0.1):
    students[fraction] = SparseRNN(N, sampled_fraction=fraction, n_epochs=EPOCHS,
                                   random_state=0, progress=False)
    students[fraction].fit(train.inputs, train.outputs, train.rates)
    print(f"sampled {fraction:4.0%}: held-out output error "
          f"{1 - students[fraction].score(test.inputs, test.outputs):.3f}")

# %%
# Outputs on a held-out reach: both students produce the EMG-like output of a
# reach they never saw, the hint-trained one more closely.
fig, axes = plt.subplots(1, 2, figsize=(10, 3), sharey=True)
cond = 3
for ax, fraction in zip(axes, students):
    pred = students[fraction].predict(test.inputs)
    for m, color in zip(range(2), ["C0", "C1"]):
        ax.plot(test.time, test.outputs[cond, :, m], color=color, lw=3, alpha=0.4,
                label=f"teacher muscle {m}")
        ax.plot(test.time, pred.outputs[cond, :, m], color=color, ls="--",
                label=f"student muscle {m}")
    ax.set(title=f"student, {fraction:.0%} sampled (held-out reach)", xlabel="time (s)")
axes[0].legend(fontsize=7)
fig.tight_layout()

# %%
# The unsampled units, side by side
# ---------------------------------
# Are the student's dynamics the teacher's?  We compare the student's units
# with the teacher's *unsampled* units, which played no part in training: both
# populations are reduced to their leading principal components and aligned by
# canonical correlation analysis; the plot shows the first two aligned
# components for the held-out reaches.  :meth:`SparseRNN.dynamics_similarity`
# returns the mean canonical correlation (CCA) of the top 10 components, and the
# Procrustes disparity of the same trajectories.


def aligned(a, b, k=6):
    """First two CCA-aligned principal components of a and b."""
    a = a.reshape(-1, a.shape[-1]) - a.reshape(-1, a.shape[-1]).mean(0)
    b = b.reshape(-1, b.shape[-1]) - b.reshape(-1, b.shape[-1]).mean(0)
    qa = np.linalg.svd(a, full_matrices=False)[0][:, :k]
    qb = np.linalg.svd(b, full_matrices=False)[0][:, :k]
    u, _, vt = np.linalg.svd(qa.T @ qb)
    return qa @ u[:, :2], qb @ vt.T[:, :2]


fig, axes = plt.subplots(1, 2, figsize=(10, 4))
shape = (test.sizes["trial"], test.sizes["time"])
for ax, fraction in zip(axes, students):
    model = students[fraction]
    unsampled = test.rates.sel(unit=model.unsampled_units_).values
    rates = model.predict(test.inputs).rates.values
    ta, sa = aligned(unsampled, rates)
    ta, sa = ta.reshape(*shape, 2), sa.reshape(*shape, 2)
    for c in range(shape[0]):
        color = plt.cm.twilight((2 * c + 1) / 16)
        ax.plot(*ta[c].T, color=color, lw=3, alpha=0.35)
        ax.plot(*sa[c].T, color=color, ls="--", lw=1)
    sim = model.dynamics_similarity(test.inputs, test.rates)
    ax.set(title=f"{fraction:.0%} sampled: CCA {sim['cca']:.2f}, "
           f"Procrustes {sim['procrustes']:.2f}", xlabel="aligned PC 1", ylabel="aligned PC 2")
fig.suptitle("teacher unsampled units (thick) vs student (dashed), held-out reaches")
fig.tight_layout()

# %%
# Similarity against the sampled fraction
# ---------------------------------------
# The paper's central figure: dynamics similarity on unsampled units, and the
# error on held-out reaches, as the sampled fraction grows.  The full text of
# Salatiello & Giese (2020) was not available to us, so the paper's own values
# cannot be printed beside ours; its abstract reports the trend we test for
# (similarity rises and generalisation improves already for small fractions).
fractions = [0.0, 0.01, 0.05, 0.1, 0.25, 0.5]
table = {f: [] for f in fractions}
for f in fractions:
    for seed in SEEDS:
        model = SparseRNN(N, sampled_fraction=f, n_epochs=EPOCHS, random_state=seed,
                          progress=False).fit(train.inputs, train.outputs, train.rates)
        sim = model.dynamics_similarity(test.inputs, test.rates)
        table[f].append((sim["cca"], sim["procrustes"],
                         1 - model.score(test.inputs, test.outputs)))
stats = {f: np.array(v) for f, v in table.items()}
print("fraction  units  CCA(unsampled)  Procrustes  held-out error   paper")
for f in fractions:
    m = stats[f].mean(0)
    print(f"{f:8.0%}  {round(f * N):5d}  {m[0]:14.3f}  {m[1]:10.3f}  {m[2]:14.3f}   n/a")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
x = np.array(fractions) * 100
for ax, col, label in [(axes[0], 0, "CCA similarity, unsampled units"),
                       (axes[1], 2, "held-out output error")]:
    mean = np.array([stats[f][:, col].mean() for f in fractions])
    err = np.array([stats[f][:, col].std() for f in fractions])
    ax.errorbar(x[1:], mean[1:], err[1:], marker="o", label="with hints")
    ax.axhline(mean[0], color="k", ls="--", label="output only")
    ax.set(xscale="log", xlabel="sampled teacher units (%)", title=label)
axes[0].legend()
fig.tight_layout()

# %%
# Data-constrained multi-region fits (CURBD)
# ------------------------------------------
# When every recorded unit is a target, the fitted network's recurrent current
# into each unit splits exactly by source region (Perich et al. 2020).  On a
# simulated three-region network where region A drives B and B drives C (and
# private noise keeps the regions from being copies of each other), the
# inferred inter-region currents single out the planted couplings.
net = make_three_region_network(20, {("A", "B"): 1.0, ("B", "C"): 1.0}, g=(1.5, 1.5, 1.5),
                                duration=4.0, drive=0.0, noise=0.3, n_trials=4,
                                random_state=0)
fit = fit_curbd(net.rates, "region", tau=0.1, g=0.0, p0=0.005,
                n_epochs=20 if FAST else 40, random_state=0, progress=False)
cur = fit.currents
inferred = np.array([[float(np.sqrt((cur.sel(source=s).sel(unit=cur.region == t) ** 2).mean()))
                      for t in "ABC"] for s in "ABC"])
w, reg, rates = net.weights.values, net.region.values, net.rates.values
true = np.array([[np.sqrt(((rates[..., reg == s] @ w[np.ix_(reg == t, reg == s)].T) ** 2).mean())
                  for t in "ABC"] for s in "ABC"])
print(f"CURBD pVar {fit.attrs['pvar']:.3f}")
fig, axes = plt.subplots(1, 3, figsize=(12, 3.3))
for ax, mat, title in [(axes[0], true, "true currents (RMS)"),
                       (axes[1], inferred, "CURBD currents (RMS)")]:
    im = ax.imshow(mat, cmap="viridis")
    ax.set(xticks=range(3), xticklabels=list("ABC"), yticks=range(3), yticklabels=list("ABC"),
           xlabel="target region", ylabel="source region", title=title)
    fig.colorbar(im, ax=ax)
unit = int(np.flatnonzero(reg == "B")[0])
for s in "ABC":
    axes[2].plot(net.time, cur.sel(source=s)[0, :, unit], label=f"from {s}")
axes[2].set(title="currents into one B unit, trial 0", xlabel="time (s)")
axes[2].legend(fontsize=7)
fig.tight_layout()
plt.show()
