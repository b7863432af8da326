r"""A three-panel summary of one flow: loss, norm, and distance to the predicted limit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from jaxtyping import ArrayLike

from ..solution import FlowSolution
from ._common import run_title
from .trajectories import plot_direction_error, plot_distance, plot_log_loss, plot_norm


if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_overview(
    sol: FlowSolution, w_ref: ArrayLike, *, direction: bool, axes: Sequence[Axes] | None = None
) -> np.ndarray:
    r"""Draw a 1 x 3 panel: $\log_{10} L$, $\|w(t)\|$ and the error against $w_{ref}$, all
    against $\log_{10} t$.

    - `direction=True` (classification on separable data, where $\|w(t)\|\to\infty$): the
      third panel is the direction error $1 - \cos\angle(w(t), w_{ref})$
      ([`plot_direction_error`][flowbias.plotting.plot_direction_error]).
    - `direction=False` (regression, where $w(t)$ converges): the third panel is the
      relative distance $\|w(t) - w_{ref}\|/\|w_{ref}\|$
      ([`plot_distance`][flowbias.plotting.plot_distance]), and the norm panel shows
      $\|w_{ref}\|$ as a dashed line.

    **Arguments:**

    - `sol`: a [`FlowSolution`][flowbias.FlowSolution] of a linear-in-input model.
    - `w_ref`: the predicted limit or direction (an object with a `w` field is accepted).
    - `direction`: which comparison to draw, as above (keyword-only, no default: the two
      settings answer different questions).
    - `axes`: three Axes to draw on; a new figure is made when `None`.

    **Returns:** a NumPy array of the three Axes; a new figure's title says what was run
    ([`run_title`][flowbias.plotting.run_title]).

    ```python
    import numpy as np
    import flowbias as fb
    from flowbias import plotting

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(4, 10)), rng.normal(size=4)
    sol = fb.flowsolve(fb.LinearModel(np.zeros(10)), fb.SquareLoss(), X, y)
    axes = plotting.plot_overview(sol, fb.min_norm_interpolator(X, y), direction=False)
    ```
    """
    if axes is None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), layout="constrained")
        fig.suptitle(run_title(sol))
    axes = np.asarray(axes, dtype=object).ravel()
    if axes.shape != (3,):
        raise ValueError(f"`axes` must hold exactly 3 Axes; got {axes.size}.")
    for ax in axes:  # panel titles, not the run's (the figure's title says what ran)
        ax.set_title(" ")
    plot_log_loss(sol, ax=axes[0])
    axes[0].set_title("loss")
    if direction:
        plot_norm(sol, ax=axes[1])
        plot_direction_error(sol, w_ref, ax=axes[2])
        axes[2].set_title("direction error")
    else:
        plot_norm(sol, ax=axes[1], w_ref=w_ref)
        plot_distance(sol, w_ref, ax=axes[2])
        axes[2].set_title("distance to the limit")
    axes[1].set_title("norm")
    return axes
