"""The exponential loss."""

from __future__ import annotations

from ._base import AbstractClassificationLoss


class ExponentialLoss(AbstractClassificationLoss):
    r"""$L = \frac1n \sum_i e^{-m_i}$ with margins $m_i = y_i f_i$.

    $\log L$ is a log-sum-exp of $-m_i$; the scaled gradient $e^{c}\,\ell'(m_i) =
    -e^{c - m_i}$ is formed in one exponent, so margins of $10^3$ (and times $t = 10^{300}$,
    where $c = \log(1 + t) \approx 690$) are handled exactly.

    ??? cite "Implicit bias on separable data"
        Soudry, Hoffer, Nacson, Gunasekar, Srebro, *The Implicit Bias of Gradient Descent on
        Separable Data*, JMLR 19 (2018): with this loss on separable data, gradient flow
        diverges in norm along the hard-margin SVM direction, $w(t) = \hat w\log t + O(1)$
        for support vectors in general position.
    """

    def log_ell(self, m):
        return -m

    def log_neg_ell_prime(self, m):
        return -m

    def inverse_neg_log_ell(self, u):
        return u
