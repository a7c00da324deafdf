"""Stimulus schedules and behaviour of the synthetic Allen sessions (see ``_allen.py``).

Visual Coding sessions show blocks of spontaneous activity, drifting and
static gratings, natural scenes, a natural movie and full-field flashes;
Visual Behavior sessions show flashed natural images (0.25 s on, 0.5 s gray)
with occasional image changes, omitted flashes, licks and rewards.
"""

from __future__ import annotations

import numpy as np

__all__ = ["behavior_schedule", "coding_schedule", "running_speed"]

ORIENTATIONS_DG = np.arange(0.0, 360.0, 45.0)
ORIENTATIONS_SG = np.arange(0.0, 180.0, 30.0)
TEMPORAL_FREQUENCIES = np.array([1.0, 2.0, 4.0, 8.0, 15.0])
SPATIAL_FREQUENCIES = np.array([0.02, 0.04, 0.08, 0.16, 0.32])
IMAGE_SET = "Natural_Images_Lum_Matched_set_ophys_G_2019"
IMAGE_NAMES = np.array(["im012", "im036", "im044", "im047", "im078", "im083", "im111", "im115"])


def _table(start: np.ndarray, stop: np.ndarray, name: str, block: int, index: int,
           **params: np.ndarray) -> dict:
    n = start.size
    out = {"start_time": start, "stop_time": stop,
           "stimulus_name": np.full(n, name, dtype=object),
           "stimulus_block": np.full(n, float(block)), "stimulus_index": np.full(n, float(index))}
    out.update(params)
    return out


def coding_schedule(rng: np.random.Generator, duration: float) -> dict[str, dict]:
    """The Visual Coding Neuropixels stimulus tables (``<name>_presentations``), in order."""
    t = 0.0
    tables: dict[str, dict] = {}
    spont = max(5.0, 0.04 * duration)
    tables["spontaneous"] = _table(np.array([t]), np.array([t + spont]), "spontaneous", 0, 0)
    t += spont
    n = int(0.4 * duration // 3.0)
    start = t + 3.0 * np.arange(n)
    tables["drifting_gratings"] = _table(
        start, start + 2.0, "drifting_gratings", 2, 2,
        orientation=rng.choice(ORIENTATIONS_DG, n),
        temporal_frequency=rng.choice(TEMPORAL_FREQUENCIES, n),
        spatial_frequency=np.full(n, 0.04), contrast=np.full(n, 0.8),
        phase=np.full(n, "[42471.86666667, 42471.86666667]", dtype=object),
        size=np.full(n, "[250.0, 250.0]", dtype=object),
        color=np.full(n, "[1.0, 1.0, 1.0]", dtype=object),
        mask=np.full(n, "None", dtype=object), opacity=np.ones(n),
        units=np.full(n, "deg", dtype=object))
    t = float(start[-1]) + 3.0 if n else t
    n = int(0.1 * duration * 30)
    start = t + np.arange(n) / 30.0
    tables["natural_movie_one"] = _table(start, start + 1 / 30.0, "natural_movie_one", 3, 3,
                                         frame=(np.arange(n) % 900).astype(np.float64))
    t += n / 30.0
    n = int(0.2 * duration / 0.25)
    start = t + 0.25 * np.arange(n)
    ori = rng.choice(ORIENTATIONS_SG, n)
    ori[rng.random(n) < 0.04] = np.nan  # blank sweeps
    tables["static_gratings"] = _table(
        start, start + 0.25, "static_gratings", 4, 4, orientation=ori,
        spatial_frequency=rng.choice(SPATIAL_FREQUENCIES, n),
        phase=rng.choice(np.array(["0.0", "0.25", "0.5", "0.75"], dtype=object), n),
        contrast=np.full(n, 0.8))
    t += 0.25 * n
    n = int(0.2 * duration / 0.25)
    start = t + 0.25 * np.arange(n)
    tables["natural_scenes"] = _table(start, start + 0.25, "natural_scenes", 5, 5,
                                      frame=rng.integers(-1, 118, n).astype(np.float64))
    t += 0.25 * n
    n = max(1, int((duration - t - 1.0) // 2.0))
    start = t + 2.0 * np.arange(n)
    tables["flashes"] = _table(start, start + 0.25, "flashes", 6, 6,
                               color=np.where(np.arange(n) % 2 == 0, "-1.0", "1.0").astype(object),
                               contrast=np.full(n, 0.8))
    return tables


def behavior_schedule(rng: np.random.Generator, duration: float) -> dict:
    """Flashed images with changes, omissions, trials, licks and rewards (Visual Behavior)."""
    spont = max(5.0, 0.05 * duration)
    n = int((duration - 2 * spont) // 0.75)
    start = spont + 0.75 * np.arange(n)
    image = np.zeros(n, dtype=np.int64)
    change = np.zeros(n, dtype=bool)
    k, current = 0, 0
    while k < n:
        k += int(rng.integers(4, 12))
        if k < n:
            current = int(rng.choice(np.delete(np.arange(IMAGE_NAMES.size), current)))
            image[k:] = current
            change[k] = True
    omitted = (rng.random(n) < 0.05) & ~change
    names = IMAGE_NAMES[image].astype(object)
    names[omitted] = "omitted"
    index = np.where(omitted, IMAGE_NAMES.size, image).astype(np.float64)
    images = _table(start, start + 0.25, IMAGE_SET, 0, 0, image_name=names, image_index=index,
                    omitted=omitted.astype(np.float64), is_change=change.astype(np.float64),
                    duration=np.full(n, 0.25), start_frame=np.round(start * 60).astype(np.float64),
                    end_frame=np.round((start + 0.25) * 60).astype(np.float64))
    images["stimulus_block"][:] = 1.0
    after = float(start[-1]) + 0.75 if n else spont
    spontaneous = _table(np.array([0.0, after]), np.array([spont, duration]), "spontaneous", 0,
                         IMAGE_NAMES.size + 1)
    spontaneous["stimulus_block"] = np.array([0.0, 2.0])
    # trials: one per change, from the previous change (or session start) to this one + 0.75 s
    change_t = start[change]
    t_start = np.concatenate([[spont], change_t[:-1] + 0.75]) if change_t.size else np.zeros(0)
    hit = rng.random(change_t.size) < 0.7
    lick_rows = [np.sort(c + 0.2 + 0.4 * rng.random(3)) if h else np.zeros(0)
                 for c, h in zip(change_t, hit)]
    rewards = change_t[hit] + 0.15
    trials = {"start_time": t_start, "stop_time": change_t + 0.75, "change_time": change_t,
              "go": np.ones(change_t.size, dtype=bool), "catch": np.zeros(change_t.size, dtype=bool),
              "hit": hit, "miss": ~hit,
              "initial_image_name": IMAGE_NAMES[image[np.flatnonzero(change) - 1]].astype(object)
              if change.any() else np.zeros(0, dtype=object),
              "change_image_name": IMAGE_NAMES[image[change]].astype(object),
              "reward_time": np.where(hit, change_t + 0.15, np.nan),
              "reward_volume": np.where(hit, 0.005, 0.0)}
    licks = np.sort(np.concatenate([*lick_rows, np.sort(rng.uniform(0, duration, 20))]))
    return {"presentations": {IMAGE_SET: images, "spontaneous": spontaneous},
            "trials": trials, "trial_lick_times": lick_rows, "licks": licks,
            "rewards": rewards, "image_per_flash": index}


def running_speed(rng: np.random.Generator, duration: float, rate: float = 60.0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """A smooth running speed (cm/s) sampled at ``rate`` Hz with a little jitter."""
    n = int(duration * rate)
    t = np.arange(n) / rate + rng.uniform(0, 0.002, n)
    t.sort()
    slow = np.cumsum(rng.normal(0, 0.3, n))
    speed = np.abs(10.0 + slow - np.linspace(0, slow[-1] if n else 0, n))
    return t, speed
