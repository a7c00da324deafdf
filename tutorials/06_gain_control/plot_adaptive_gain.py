"""
Adaptation through single-neuron gains in a recurrent V1 circuit
================================================================

When a visual stimulus becomes more frequent, neurons in primary visual cortex
(V1) adapt.  Benucci, Saleem & Carandini (2013) recorded cat V1 populations
while flashing gratings drawn from a *uniform* ensemble of orientations or from
a *biased* one in which a single "adapter" orientation was much more frequent.
They found that adaptation

1. lowers the response maxima (and minima) of neurons tuned near the adapter,
2. repels tuning curves: preferred orientations move away from the adapter,
3. keeps the population decorrelated: the covariance of the responses under
   the biased ensemble stays close to the one under the uniform ensemble.

Duong, Bredenberg, Heeger & Simoncelli (2023) proposed that a recurrent
network in which adaptation changes **only the gain of each neuron**, chosen
by an efficient-coding trade-off between fidelity and total activity, explains
these effects.  The paper's full text was not available to us: the network,
objective and gains of :mod:`neurodata.gain_control` are a reconstruction from
its abstract (see the module's documentation page for which equations are
reconstructions and which choices are ours).

This tutorial starts from a recording, the path a user with data takes: a
session with spike trains and a trial table, fitted with
:class:`~neurodata.gain_control.AdaptiveGainModel`.  Then it opens the model:
the network, the optimal gains, the adaptation effects of the reconstructed
model, a naive control, and a multi-session fit.
"""

# %%
# A recording of an adaptation experiment
# ---------------------------------------
# The sample session holds 48 units' spike trains and a trial table: one
# grating per trial, 300 from the uniform and 300 from the biased ensemble.
# (It was simulated from a known network, so we can check the fit; a real
# recording opens the same way with ``nd.open_nwb(path)``.)
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np

import neurodata as nd
import neurodata.gain_control as gc
from neurodata.datasets import make_adaptation_trials

FAST = bool(os.environ.get("NEURODATA_FAST"))

rec = nd.load_sample("sample_adaptation")
print(rec)
print(rec.trial_condition.to_series().value_counts())

# %%
# Fitting the model to the recording
# ----------------------------------
# ``fit`` takes each unit's spike rate in every trial
# (:func:`neurodata.signals.trial_responses`), bins the units by preferred
# orientation relative to the adapter (the orientation shown most often in the
# biased block) and normalises each unit by its unadapted tuning curve: the
# format of Benucci et al. (:func:`~neurodata.gain_control.benucci_format`).
# The adapter's probability is read from the trials.  The model's tuning width
# and recurrent strength and width are then fitted by least squares.
model = gc.AdaptiveGainModel(n_init=1 if FAST else 3, random_state=0).fit(rec)
print(model)
print("fitted:", {k: round(v, 3) for k, v in model.params_.items()})
# the sample was made by make_adaptation_trials(48, n_trials=300, peak_rate=20.0,
# tuning_kappa=1.5, recurrent_strength=0.6, recurrent_kappa=3.0, random_state=0)
print("planted:", {"tuning_kappa": 1.5, "recurrent_strength": 0.6, "recurrent_kappa": 3.0})
print("adapter probability read from the trials:", model.result_.p_adapter.values)
print("R^2:", round(model.score(rec), 3))
gc.plot_benucci(model.data_, model.predict(model.data_).isel(session=0))

# %%
# ``predict`` also takes stimulus orientations: the response of every model
# neuron adapted to the uniform and to the biased ensemble.
theta = np.arange(-90.0, 90.0, 2.5)
tuning = model.predict(theta)
fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
for unit, color in zip([30, 35, 40], ["C0", "C1", "C2"]):
    for cond, ls in zip(["uniform", "biased"], ["-", "--"]):
        ax.plot(theta, tuning.sel(condition=cond, model_unit=unit), color=color, ls=ls)
ax.set(xlabel="stimulus orientation - adapter (deg)", ylabel="normalised response",
       title="fitted model: solid uniform, dashed biased")

# %%
# The fitted result is one Dataset, which NWB stores as an analysis module:
print(model.to_dataset())
out = model.write_nwb(os.path.join(tempfile.mkdtemp(), "gain_control_fit.nwb"))
print("read back:", nd.read_results(out)["adaptive_gain_model"].estimate.values)

# %%
# The network
# -----------
# Sixty neurons with preferred orientations every 3 degrees receive a von Mises
# feedforward drive ``h(theta)`` and excite their neighbours through fixed
# recurrent weights ``W``.  Adaptation changes the diagonal gain matrix ``G``.
net = gc.ring_network(60, tuning_kappa=2.0, recurrent_strength=0.4, recurrent_kappa=4.0)
print("largest eigenvalue of W:", round(gc.check_stability(net), 3), "(stable below 1)")
gc.plot_network(net)

# %%
# The rate dynamics relax to the closed-form steady state.
traj = gc.simulate(net, [0.0], np.linspace(0, 10, 200), method="exact")
gc.plot_dynamics(traj, model_units=[30, 36, 45])

# %%
# Optimal gains
# -------------
# The gains minimise ``L(g) = -sum_i log g_i + alpha E||r*||^2`` (our
# reconstruction): the log terms stand for the information each neuron carries
# through its output noise, the second term for the network's mean squared
# activity.  With the gains on the feedforward drive the objective is strictly
# convex, and its optimum satisfies ``g_i (Q g)_i = 1 / (2 alpha)``: every
# neuron ends up with the same share of the activity.  ``alpha`` is calibrated
# so that the gains are 1 under the uniform ensemble.  A generic optimiser of
# the objective agrees with the analytic solution.
uniform = gc.stimulus_ensemble(20)
biased = gc.stimulus_ensemble(20, adapter=0.0, p_adapter=0.3)
g_biased = gc.optimal_gains(net, biased)
g_numeric = gc.optimize_gains(net, biased)
print("max relative difference analytic vs numerical:",
      float(abs(g_numeric / g_biased - 1).max()))
print("max |gradient| at the analytic optimum:",
      float(abs(gc.objective_gradient(net, g_biased, biased)).max()))

# %%
# The adaptation effects of the reconstructed model
# -------------------------------------------------
# :func:`~neurodata.gain_control.adaptation_effects` compares the network
# adapted to the uniform ensemble with the one adapted to the biased ensemble.
# Gains drop around the adapter; propagated through the recurrent excitation,
# this lowers maxima and minima near the adapter and pushes the tuning curves
# of neighbouring units away from it.  These are the qualitative effects
# Benucci et al. measured, produced by our reconstruction of the model (not the
# paper's own figure).
fx = gc.adaptation_effects(net, adapter=0.0, p_adapter=0.3)

fig, axes = plt.subplots(2, 2, figsize=(9, 6.5), layout="constrained")
gc.plot_gains(fx, ax=axes[0, 0])
gc.plot_tuning_curves(fx, units=[24, 30, 36, 40, 45, 50], ax=axes[0, 1])
axes[0, 1].set_title("solid: uniform, dashed: biased")
gc.plot_preferred_shift(fx, ax=axes[1, 0], label="optimal gains")
gc.plot_extrema(fx, ax=axes[1, 1])

# %%
# Population covariance: decorrelation
# ------------------------------------
# Under the biased ensemble without adaptation, the frequent adapter adds a
# strong correlated component around 0 degrees.  With the optimal gains the
# covariance moves back towards the uniform-ensemble covariance.
gc.plot_covariances(fx)
print("distance to the uniform covariance:",
      {str(k): round(float(v), 3) for k, v in zip(fx.ensemble.values, fx.covariance_distance)})

# %%
# A naive control: equalise the mean responses
# --------------------------------------------
# Benucci et al. observed that adaptation tends to equalise time-averaged
# responses.  Gains chosen *only* to equalise them also drop near the adapter and
# repel tuning curves, but they over-correct: the covariance moves further from
# the uniform one than without any adaptation.  The efficient-coding gains
# equalise the responses only partly and keep the population decorrelated.
naive = gc.adaptation_effects(net, adapter=0.0, p_adapter=0.3, rule="equalize")
print("naive rule, distance to the uniform covariance:",
      {str(k): round(float(v), 3) for k, v in zip(naive.ensemble.values,
                                                  naive.covariance_distance)})
print("coefficient of variation of mean responses across units:",
      "optimal", float(fx.response_cv.sel(ensemble="biased_adapted").round(3)),
      "naive", float(naive.response_cv.sel(ensemble="biased_adapted").round(3)))
ax = gc.plot_preferred_shift(fx, label="optimal gains")
gc.plot_preferred_shift(naive, ax=ax, label="equalising gains")
ax.legend(frameon=False)

# %%
# Several sessions
# ----------------
# ``fit`` takes a list of recordings, or the dict that
# :func:`neurodata.open_folder` returns for a folder of NWB files, one per
# session.  With six sessions of 100 units the planted network is recovered
# closely.
truth = {"tuning_kappa": 1.5, "recurrent_strength": 0.6, "recurrent_kappa": 3.0}
sessions = {f"session{s}": make_adaptation_trials(100, random_state=10 + s, **truth)
            for s in range(3 if FAST else 6)}
multi = gc.AdaptiveGainModel(n_init=1, random_state=0).fit(sessions)
for name, est in multi.params_.items():
    print(f"{name:>20s}: fitted {est:6.3f}   (planted {truth[name]})")
print("R^2:", round(multi.score(sessions), 4))
plt.show()
