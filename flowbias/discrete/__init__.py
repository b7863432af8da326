r"""Discrete training dynamics next to their flows: gradient descent with a finite step, and
the orders at which it follows gradient flow and the modified flow.

- [`gradient_descent`][flowbias.discrete.gradient_descent]: the map
  $\theta_{k+1} = \theta_k - \eta\nabla L(\theta_k)$ on any model and loss.
- [`adaboost`][flowbias.discrete.adaboost] on [`Stumps`][flowbias.discrete.Stumps]:
  coordinate descent on the exponential loss, towards the $\ell_1$ max-margin.
- [`step_size_orders`][flowbias.discrete.step_size_orders]: the distances to gradient flow,
  $O(\eta)$, and to the modified flow, $O(\eta^2)$, with their fitted slopes.
"""

from .boosting import BoostingPath as BoostingPath, Stumps as Stumps, adaboost as adaboost
from .gradient_descent import (
    DescentDivergedError as DescentDivergedError,
    DescentPath as DescentPath,
    gradient_descent as gradient_descent,
)
from .orders import StepSizeOrders as StepSizeOrders, step_size_orders as step_size_orders
