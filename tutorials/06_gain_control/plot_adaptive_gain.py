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

Duong, Bredenberg, Heeger & Simoncelli (2023) showed that a recurrent network
in which adaptation changes **only the gain of each neuron** reproduces all of
these effects, when the gains optimise an efficient-coding trade-off between
fidelity and total activity.  This tutorial walks through that model with
:mod:`neurodata.gain_control`: the network, the optimal gains, the paper's
adaptation effects, a naive control, and fitting the model to data in the
Benucci format.
"""

# %%
# The network
# -----------
# Sixty neurons with preferred orientations every 3 degrees receive a von Mises
# feedforward drive ``h(theta)`` and excite their neighbours through fixed
# recurrent weights ``W``.  Adaptation changes the diagonal gain matrix ``G``:
# the steady-state responses (the tuning curves) are
# ``r* = (I - W)^-1 G h(theta)``.
import os

import matplotlib.pyplot as plt
import numpy as np

import neurodata.gain_control as gc
from neurodata.datasets import make_adaptation_experiment, make_adaptation_trials

FAST = bool(os.environ.get("NEURODATA_FAST"))

net = gc.ring_network(60, tuning_kappa=2.0, recurrent_strength=0.4, recurrent_kappa=4.0)
print("largest eigenvalue of W:", round(gc.check_stability(net), 3), "(stable below 1)")

fig, axes = plt.subplots(1, 2, figsize=(8, 3), constrained_layout=True)
theta = np.arange(-90, 90, 2.5)
axes[0].plot(theta, gc.feedforward_drive(net, theta).sel(unit=30), label="feedforward drive")
axes[0].plot(theta, gc.steady_state(net, theta).sel(unit=30), label="network response")
axes[0].set(xlabel="stimulus orientation (deg)", title="unit preferring 0 deg")
axes[0].legend(frameon=False)
axes[1].imshow(net.weights, cmap="viridis")
axes[1].set(title="recurrent weights W", xlabel="presynaptic unit", ylabel="unit")

# %%
# Stimulus ensembles and the dynamics
# -----------------------------------
# The uniform ensemble shows 20 orientations equally often; the biased one shows
# the adapter (0 deg) with probability 0.3.  The rate dynamics
# ``dr/dt = -r + W r + G h`` relax to the closed-form steady state.
uniform = gc.stimulus_ensemble(20)
biased = gc.stimulus_ensemble(20, adapter=0.0, p_adapter=0.3)

traj = gc.simulate(net, [0.0], np.linspace(0, 10, 200), method="exact")
ax = plt.figure(figsize=(4, 3)).gca()
ax.plot(traj.time, traj.sel(stimulus_orientation=0.0).isel(unit=[30, 36, 45]))
ax.set(xlabel="time (tau)", ylabel="rate", title="relaxation to the steady state")

# %%
# Optimal gains
# -------------
# The gains minimise ``L(g) = -sum_i log g_i + alpha E||r*||^2``: the log terms
# are the information each neuron carries through its output noise, the second
# term the network's mean squared activity.  The objective is strictly convex and
# its optimum satisfies ``g_i (Q g)_i = 1 / (2 alpha)`` with
# ``Q = (A^T A) o E[h h^T]``: every neuron ends up with the same share of the
# activity.  ``alpha`` is calibrated so that the gains are 1 under the uniform
# ensemble.  A generic optimiser of the objective agrees with the analytic
# solution.
g_biased = gc.optimal_gains(net, biased)
g_numeric = gc.optimize_gains(net, biased)
print("max relative difference analytic vs numerical:",
      float(abs(g_numeric / g_biased - 1).max()))
print("max |gradient| at the analytic optimum:",
      float(abs(gc.objective_gradient(net, g_biased, biased)).max()))

# %%
# The adaptation effects (the paper's main figure)
# ------------------------------------------------
# :func:`~neurodata.gain_control.adaptation_effects` compares the network
# adapted to the uniform ensemble with the one adapted to the biased ensemble.
# Gains drop around the adapter; propagated through the recurrent excitation,
# this lowers maxima and minima near the adapter and pushes the tuning curves
# of neighbouring units away from it.
fx = gc.adaptation_effects(net, adapter=0.0, p_adapter=0.3)

fig, axes = plt.subplots(2, 2, figsize=(9, 6.5), constrained_layout=True)
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
# Fitting the model to Benucci-format data
# ----------------------------------------
# The population data of Benucci et al. are summarised as sessions x 13
# preferred-orientation bins x 21 stimulus orientations x 2 conditions, each
# unit normalised by its unadapted (uniform-condition) tuning curve.  Those data
# are not public, so :func:`~neurodata.datasets.make_adaptation_experiment`
# simulates such an experiment from a known model with Poisson trial noise.
# Fitting recovers the generating tuning width, recurrent strength and width.
n_sessions = 6
data = make_adaptation_experiment(n_sessions, random_state=0)
fit = gc.fit_adaptation_model(data, p_adapter=0.3, n_starts=1 if FAST else 3, random_state=0)
truth = [float(data[f"true_{p}"]) for p in fit.parameter.values]
for name, est, err, true in zip(fit.parameter.values, fit.estimate.values, fit.stderr.values,
                                truth):
    print(f"{name:>20s}: fitted {est:6.3f} +- {err:.3f}   (true {true})")
print("R^2 of the fit:", round(float(fit.r2), 4))
gc.plot_benucci(data, fit.prediction)

# %%
# From a recording aligned to stimulus presentations
# --------------------------------------------------
# With a real recording, cut the spike trains around every grating onset with
# ``neurodata.signals.align(recording, "trial", window, bin_size=...)``: the
# ``(trial, time_rel, unit)`` counts keep the trial table's columns (here
# ``trial_stimulus_orientation`` and ``trial_condition``), and
# :func:`~neurodata.gain_control.benucci_format` averages them over a response
# window.  Here the synthetic sessions are already ``(trial, unit)`` counts.
# ``benucci_format`` bins the units by preferred orientation, and
# :class:`~neurodata.gain_control.AdaptiveGainModel` fits the result.
recordings = [make_adaptation_trials(100, random_state=10 + s) for s in range(n_sessions)]
print(recordings[0])
model = gc.AdaptiveGainModel(p_adapter=0.3, n_starts=1, random_state=0).fit(recordings)
print("fitted parameters:", {k: round(v, 3) for k, v in model.params_.items()})
print("R^2:", round(model.score(recordings), 4))
plt.show()
