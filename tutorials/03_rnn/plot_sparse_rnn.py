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

1. a recording: spike trains of a motor-cortex-like circuit during reaches in
   8 directions, with EMG-like outputs and the reach cue;
2. students fitted to it directly (:class:`~neurodata.rnn.SparseRNN`), on the
   output alone or with hints from a sampled fraction of the units;
3. the dynamics of the *unsampled* units, student against circuit;
4. the paper's sweep of the sampled fraction, on the circuit's noise-free rates;
5. the data-constrained, multi-region variant (CURBD, Perich et al. 2020).

Set ``NEURODATA_FAST=1`` for a quick run with smaller networks.
"""

# %%
# The recording
# -------------
# ``sample_reaches`` is an NWB file made by
# :func:`~neurodata.datasets.make_motor_teacher`: a stability-optimised E/I
# circuit (Hennequin et al. 2014) whose preparatory state, set by the reach
# cue, unfolds into multiphasic, EMG-like outputs.  It holds the spike trains
# of its 40 units (10 reaches per direction), the ``emg`` and ``cue`` series
# on their own time axes, and a trial table with each reach's direction.
import os

import matplotlib.pyplot as plt
import numpy as np

import neurodata as nd
from neurodata.datasets import make_motor_teacher, make_three_region_network
from neurodata.rnn import (
    SparseRNN,
    fit_curbd,
    plot_current_traces,
    plot_currents,
    plot_trajectories,
    region_currents,
)

FAST = bool(os.environ.get("NEURODATA_FAST"))
rec = nd.load_sample("sample_reaches")
print(rec)

trial = rec.isel(trial=0)
window = (float(trial.trial_start_time), float(trial.trial_stop_time))
spikes = rec.spike_times.values
inside = (spikes >= window[0]) & (spikes < window[1])
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
axes[0].plot(spikes[inside] - window[0], rec.spike_unit.values[inside], "|k", ms=3)
axes[0].set(title="reach 0: spike trains", xlabel="time from trial start (s)", ylabel="unit")
emg = rec.emg.sel(time_emg=slice(window[0], window[1] - 0.001))
axes[1].plot(emg.time_emg - window[0], emg.values)
axes[1].set(title="reach 0: EMG-like outputs", xlabel="time from trial start (s)")
fig.tight_layout()

# %%
# Students fitted to the recording
# --------------------------------
# :class:`~neurodata.rnn.SparseRNN` takes the recording and named selectors:
# the spike trains become firing rates (5 ms bins, 20 ms Gaussian smoothing),
# ``behaviour`` names the output series and ``stimulus`` the input series
# (both resampled onto the rates' grid), ``trials`` the interval table, and
# ``condition`` a trial column whose trials are averaged (peri-stimulus time
# histograms, as the paper fits condition-averaged rates).  Even reach
# directions train; odd ones are held out.
#
# full-FORCE (DePasquale et al. 2018) trains the student so that its
# recurrent currents match a target-generating network driven by the output
# and, with ``sampled_fraction > 0``, by the sampled units' rates as *hints*
# (our reading of the paper's abstract).  ``sampled_fraction=0`` is the
# output-only baseline.
SELECT = dict(bin_size=0.005, smooth=0.02, behaviour="emg", stimulus="cue", trials="trial",
              condition="condition")
even = rec.trial_condition.values % 2 == 0
train, test = rec.isel(trial=even), rec.isel(trial=~even)
N = 40 if FAST else 80
students = {}
for fraction in (0.0, 0.25):
    students[fraction] = SparseRNN(N, sampled_fraction=fraction, n_epochs=10 if FAST else 20,
                                   random_state=0, progress=False).fit(train, **SELECT)
    print(f"sampled {fraction:4.0%}: held-out output score "
          f"{students[fraction].score(test, **SELECT):.3f}")

# %%
# Outputs on a held-out reach: both students produce the EMG-like output of a
# direction they never saw.  The recorded EMG of each direction comes from
# :func:`neurodata.align` (trials cut from the series) averaged by direction.
DURATION = 0.5  # s, 101 samples of 5 ms: the trials' length
recorded_emg = nd.align(test, "trial", (0.0, DURATION), variable="emg")
recorded_emg = recorded_emg.groupby("trial_condition").mean()
fig, axes = plt.subplots(1, 2, figsize=(10, 3), sharey=True)
cond = 1
for ax, fraction in zip(axes, students):
    pred = students[fraction].predict(test, **SELECT)
    for m, color in zip(range(2), ["C0", "C1"]):
        ax.plot(recorded_emg.time_rel, recorded_emg[cond, :, m], color=color, lw=3, alpha=0.4,
                label=f"recorded muscle {m}")
        ax.plot(pred.time, pred.outputs[cond, :, m], color=color, ls="--",
                label=f"student muscle {m}")
    ax.set(title=f"student, {fraction:.0%} sampled (held-out reach {int(pred.trial[cond])})",
           xlabel="time from trial start (s)")
axes[0].legend(fontsize=7)
fig.tight_layout()

# %%
# The unsampled units, side by side
# ---------------------------------
# Are the student's dynamics the circuit's?  The generator's noise-free rates
# (the same call without spikes) give the circuit's units on the held-out
# reaches.  :func:`~neurodata.rnn.plot_trajectories` reduces both
# populations to their leading principal components, aligns them by
# canonical correlation analysis and draws the first two aligned components;
# :meth:`~neurodata.rnn.SparseRNN.dynamics_similarity` gives the mean
# canonical correlation (CCA) of the top 10 and the Procrustes disparity, on
# the units that were *not* sampled.
truth = make_motor_teacher(40, n_conditions=8, dt=0.005, duration=0.4, prep_duration=0.1,
                           random_state=0)
truth_test = truth.isel(trial=truth.trial_condition.values % 2 == 1)
CLEAN = dict(variable="rates", behaviour="emg", stimulus="cue", trials="trial")
circuit = nd.align(truth_test, "trial", (0.0, DURATION), variable="rates")
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, fraction in zip(axes, students):
    model = students[fraction]
    sim = model.dynamics_similarity(truth_test, **CLEAN)
    rates = model.predict(truth_test, **CLEAN).rates
    plot_trajectories(rates, circuit.sel(unit=model.unsampled_units_), ax=ax)
    ax.set_title(f"{fraction:.0%} sampled: CCA {sim['cca']:.2f}, "
                 f"Procrustes {sim['procrustes']:.2f}", fontsize=9)
fig.tight_layout()

# %%
# Similarity against the sampled fraction
# ---------------------------------------
# The paper's central figure: dynamics similarity on unsampled units, and the
# error on held-out reaches, as the sampled fraction grows.  Here on a larger
# circuit (200 units, 16 directions; 60 in the fast mode) and its noise-free
# rates: :func:`~neurodata.datasets.make_motor_teacher` returns a recording
# like the sample's, with the rates as a ``(time, unit)`` variable.  The full
# text of Salatiello & Giese (2020) was not available to us, so the paper's
# own values cannot be printed beside ours; its abstract reports the trend we
# test for (similarity rises and generalisation improves already for small
# fractions).
N = 60 if FAST else 200
EPOCHS = 10 if FAST else 20
SEEDS = [0] if FAST else [0, 1, 2]
big = make_motor_teacher(N, n_conditions=16, random_state=0)
big_train = big.isel(trial=big.trial_condition.values % 2 == 0)
big_test = big.isel(trial=big.trial_condition.values % 2 == 1)
fractions = [0.0, 0.01, 0.05, 0.1, 0.25, 0.5]
table = {f: [] for f in fractions}
for f in fractions:
    for seed in SEEDS:
        model = SparseRNN(N, sampled_fraction=f, n_epochs=EPOCHS, random_state=seed,
                          progress=False).fit(big_train, **CLEAN)
        sim = model.dynamics_similarity(big_test, **CLEAN)
        table[f].append((sim["cca"], sim["procrustes"], 1 - model.score(big_test, **CLEAN)))
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
    ax.set(xscale="log", xlabel="sampled circuit units (%)", title=label)
axes[0].legend()
fig.tight_layout()

# %%
# Data-constrained multi-region fits (CURBD)
# ------------------------------------------
# When every recorded unit is a target, the fitted network's recurrent current
# into each unit splits exactly by source region (Perich et al. 2020).
# :func:`~neurodata.datasets.make_three_region_network` records three
# interacting regions where region A drives B and B drives C (private noise
# keeps the regions from being copies of each other), with the units table's
# ``region`` column.  :func:`~neurodata.rnn.fit_curbd` fits it trial by trial;
# :func:`~neurodata.rnn.plot_currents` shows the RMS current between every
# pair of regions, beside the true currents of the planted weights.
net = make_three_region_network(20, {("A", "B"): 1.0, ("B", "C"): 1.0}, g=(1.5, 1.5, 1.5),
                                duration=4.0, drive=0.0, noise=0.3, n_trials=4,
                                random_state=0)
fit = fit_curbd(net, "region", trials="trial", tau=0.1, g=0.0, p0=0.005,
                n_epochs=20 if FAST else 40, random_state=0, progress=False)
print(f"CURBD pVar {fit.attrs['pvar']:.3f}")
print(region_currents(fit).round(3))
w, reg, rates = net.weights.values, net.region.values, net.rates.values
true = np.array([[np.sqrt(((rates[:, reg == s] @ w[np.ix_(reg == t, reg == s)].T) ** 2).mean())
                  for t in "ABC"] for s in "ABC"])
fig, axes = plt.subplots(1, 3, figsize=(13, 3.3))
im = axes[0].imshow(true, cmap="viridis")
axes[0].set(xticks=range(3), xticklabels=list("ABC"), yticks=range(3), yticklabels=list("ABC"),
            xlabel="target region", ylabel="source region", title="true currents (RMS)")
fig.colorbar(im, ax=axes[0], shrink=0.8)
plot_currents(fit, ax=axes[1])
plot_current_traces(fit, "B", trial=0, ax=axes[2])
fig.tight_layout()
plt.show()
