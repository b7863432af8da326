"""A catalogue of test problems, each with a reference computed independently of flowbias.

The data come from `flowbias.problems` (seeded NumPy draws, shared with the tour and the
benchmarks); the references here use plain NumPy linear algebra or cvxpy written out directly,
never the flowbias functions under test.
"""

from __future__ import annotations

import dataclasses

import cvxpy as cp
import numpy as np

from flowbias import problems


@dataclasses.dataclass(frozen=True)
class RegressionProblem:
    name: str
    X: np.ndarray
    y: np.ndarray
    w0: np.ndarray

    @property
    def min_norm_limit(self) -> np.ndarray:
        """argmin ||w - w0|| s.t. Xw = y, by the textbook formula (seed 000, Prop. 13.1)."""
        X, y, w0 = self.X, self.y, self.w0
        G = X @ X.T
        return X.T @ np.linalg.solve(G, y) + w0 - X.T @ np.linalg.solve(G, X @ w0)

    @property
    def rowspace_projector(self) -> np.ndarray:
        X = self.X
        return X.T @ np.linalg.solve(X @ X.T, X)


@dataclasses.dataclass(frozen=True)
class ClassificationProblem:
    name: str
    X: np.ndarray
    y: np.ndarray

    @property
    def svm_direction(self) -> np.ndarray:
        """Hard-margin SVM argmin ||w||^2 s.t. y_i x_i.w >= 1, by a cvxpy model written here."""
        Z = self.y[:, None] * self.X
        w = cp.Variable(self.X.shape[1])
        cp.Problem(cp.Minimize(cp.sum_squares(w)), [Z @ w >= 1]).solve(solver="CLARABEL")
        return np.asarray(w.value)


def svm_primal_dual(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hard-margin SVM (w, a) by cvxpy: min ||w||^2 / 2 s.t. y_i x_i.w >= 1, and the
    constraints' multipliers a >= 0, with w = sum_i a_i y_i x_i."""
    Z = y[:, None] * X
    w = cp.Variable(X.shape[1])
    con = Z @ w >= 1
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w)), [con]).solve(
        solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12
    )
    return np.asarray(w.value), np.asarray(con.dual_value)


def random_regression(n: int, d: int, seed: int, *, w0_scale: float = 1.0) -> RegressionProblem:
    X, y, w0 = problems.gaussian_regression(n, d, seed, w0_scale=w0_scale)
    return RegressionProblem(f"gaussian-{n}x{d}-{seed}", X, y, w0)


def random_separable(n: int, d: int, seed: int, *, gap: float = 0.0) -> ClassificationProblem:
    """`problems.gaussian_separable`: Gaussian points labelled by a random hyperplane through
    the origin (points closer than `gap` to it redrawn)."""
    X, y = problems.gaussian_separable(n, d, seed, gap=gap)
    return ClassificationProblem(f"separable-{n}x{d}-{seed}", X, y)


REGRESSION = [
    random_regression(5, 20, 0),
    random_regression(20, 100, 1),
    random_regression(3, 4, 2, w0_scale=10.0),
]
CLASSIFICATION = [
    random_separable(38, 10, 0),
    random_separable(20, 5, 1, gap=0.1),
]


def sparse_regression(n: int, d: int, k: int, seed: int) -> RegressionProblem:
    """Gaussian X, a k-sparse ground truth w*, y = X w*; w0 is unused (zeros)."""
    X, y, _ = problems.sparse_regression(n, d, k, seed)
    return RegressionProblem(f"sparse-{n}x{d}-k{k}-{seed}", X, y, np.zeros(d))


def diagonal_link_numpy(xi, u0, v0, depth: int, tied: bool = False):
    """w = u^D - v^D along gradient flow, from the closed-form solution of u' = D u^{D-1} xi',
    written out in NumPy (independent of flowbias.symbolic)."""
    xi = np.asarray(xi, dtype=np.float64)
    if depth == 2:
        u, v = u0 * np.exp(2 * xi), v0 * np.exp(-2 * xi)
    else:
        k = depth * (depth - 2)
        u = (u0 ** (2 - depth) - k * xi) ** (-1.0 / (depth - 2))
        v = (v0 ** (2 - depth) + k * xi) ** (-1.0 / (depth - 2))
    return u**depth if tied else u**depth - v**depth


def diagonal_inverse_link_numpy(w, u0, v0, depth: int, tied: bool = False):
    """psi with diagonal_link_numpy(psi) = w, coordinate-wise by bracketing (scipy brentq)."""
    from scipy.optimize import brentq

    w = np.atleast_1d(np.asarray(w, dtype=np.float64))
    u0, v0 = np.broadcast_to(u0, w.shape), np.broadcast_to(v0, w.shape)
    out = np.empty_like(w)
    for i in range(w.size):
        if depth == 2:
            lo, hi = -400.0, 400.0
        else:
            k = depth * (depth - 2)
            hi = u0[i] ** (2 - depth) / k
            lo = -1e300 if tied else -(v0[i] ** (2 - depth)) / k
            span = hi - lo if np.isfinite(hi - lo) else 2 * hi
            lo, hi = lo + 1e-15 * span, hi - 1e-15 * span

        def f(x, a=u0[i], b=v0[i], target=w[i]):
            return diagonal_link_numpy(x, a, b, depth, tied) - target

        out[i] = brentq(f, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=2000)
    return out


def entropy_split_limit_cvxpy(X, y, u0, v0):
    """Depth-2 limit as an exponential-cone program: with p = u^2, q = v^2 the flow is a mirror
    flow of L(p - q) with potential sum p log(p/u0^2) - p + q log(q/v0^2) - q, so
    w = p - q for (p, q) = argmin of that s.t. X(p - q) = y."""
    d = X.shape[1]
    p, q = cp.Variable(d, nonneg=True), cp.Variable(d, nonneg=True)
    obj = (
        -cp.sum(cp.entr(p))
        - p @ np.log(u0**2)
        - cp.sum(p)
        - cp.sum(cp.entr(q))
        - q @ np.log(v0**2)
        - cp.sum(q)
    )
    cp.Problem(cp.Minimize(obj), [X @ (p - q) == y]).solve(
        solver="CLARABEL", tol_gap_abs=1e-13, tol_gap_rel=1e-13, tol_feas=1e-13, max_iter=500
    )
    return p.value - q.value


def min_l1_cvxpy(X, y):
    w = cp.Variable(X.shape[1])
    cp.Problem(cp.Minimize(cp.norm1(w)), [X @ w == y]).solve(solver="CLARABEL")
    return np.asarray(w.value)


def diagonal_inverse_link_mpmath(w, u0, v0, depth: int, *, dps: int = 60):
    """Like `diagonal_inverse_link_numpy` but in 60-digit arithmetic (mpmath), so the
    cancellation u^D - v^D ~ alpha^D at large alpha does not limit the reference."""
    import mpmath as mp

    w = np.atleast_1d(np.asarray(w, dtype=np.float64))
    out = np.empty_like(w)
    with mp.workdps(dps):
        a, b, D = mp.mpf(float(u0)), mp.mpf(float(v0)), depth
        for i, wi in enumerate(w):
            wi = mp.mpf(float(wi))
            if D == 2:  # a^2 e^{4 psi} - b^2 e^{-4 psi} = w, a quadratic in e^{4 psi}
                e = (wi + mp.sqrt(wi**2 + 4 * a**2 * b**2)) / (2 * a**2)
                out[i] = float(mp.log(e) / 4)
                continue
            k = D * (D - 2)

            def h(x, k=k, wi=wi):
                u = (a ** (2 - D) - k * x) ** (mp.mpf(-1) / (D - 2))
                v = (b ** (2 - D) + k * x) ** (mp.mpf(-1) / (D - 2))
                return u**D - v**D - wi

            hi, lo = a ** (2 - D) / k, -(b ** (2 - D)) / k
            for _ in range(4 * dps):  # bisection: robust near the poles of h
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if h(mid) < 0 else (lo, mid)
            out[i] = float((lo + hi) / 2)
    return out


# ---- matrix problems (row M1) -----------------------------------------------------------------
# Data as plain NumPy: measurement matrices A (n, d1, d2), or completion indices; the
# references are closed forms, an LP, or a quadrature, none of them flowbias code.


@dataclasses.dataclass(frozen=True)
class MatrixProblem:
    name: str
    shape: tuple[int, int]
    y: np.ndarray
    A: np.ndarray | None = None  # sensing: (n, d1, d2)
    rows: np.ndarray | None = None  # completion
    cols: np.ndarray | None = None
    W_star: np.ndarray | None = None  # ground truth, where there is one

    def operator(self):
        import flowbias as fb

        if self.A is not None:
            return fb.MatrixSensing(self.A)
        return fb.MatrixCompletion(self.rows, self.cols, self.shape)


def razin_cohen() -> MatrixProblem:
    """Razin & Cohen (2020): w12 = w21 = 1, w22 = 0 observed. Every completion [[x, 1], [1, 0]]
    has det -1 and eigenvalues x/2 +- sqrt(x^2/4 + 1), so its nuclear norm is sqrt(x^2 + 4):
    the minimum nuclear norm completion is x = 0, with norm 2 (closed form)."""
    rows, cols, y = problems.razin_cohen()
    return MatrixProblem("razin-cohen", (2, 2), y, rows=rows, cols=cols)


RAZIN_COHEN_MIN_NUCLEAR = np.array([[0.0, 1.0], [1.0, 0.0]])


def commuting_sensing(d: int, n: int, seed: int) -> MatrixProblem:
    """Diagonal (hence commuting) measurements A_k = diag(a_k) of a non-negative sparse diagonal
    target: on PSD matrices <A_k, W> sees only diag(W), and tr W = sum diag(W), so the minimum
    trace PSD fit is diag of the non-negative min-l1 fit of a w = y (`min_l1_nonneg_lp`)."""
    A, y, W_star = problems.commuting_sensing(d, n, seed)
    return MatrixProblem(f"commuting-{d}-{n}-{seed}", (d, d), y, A=A, W_star=W_star)


def min_l1_nonneg_lp(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """argmin sum(w) s.t. a w = y, w >= 0: an LP, by cvxpy/Clarabel written out here."""
    w = cp.Variable(a.shape[1], nonneg=True)
    cp.Problem(cp.Minimize(cp.sum(w)), [a @ w == y]).solve(
        solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12
    )
    return np.asarray(w.value)


def full_observation(singular_values, seed: int) -> MatrixProblem:
    """Every entry of a d x d target U diag(s) U^T observed (A = the standard basis, n = d^2):
    L = ||W - W*||_F^2 / (2n). From W(0) = sigma0 I = U (sigma0 I) U^T (balanced), W stays
    U diag(sigma) U^T and each singular value follows sigma' = N sigma^(2 - 2/N) (s - sigma)/n
    on its own (Arora, Cohen, Hazan 2018); see `singular_value_path`."""
    s = np.asarray(singular_values, dtype=np.float64)
    d = s.size
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.normal(size=(d, d)))
    W = U @ np.diag(s) @ U.T
    A = np.eye(d * d).reshape(d * d, d, d)
    return MatrixProblem(f"full-{d}-{seed}", (d, d), W.reshape(-1), A=A, W_star=W)


def singular_value_path(t, s_star: float, sigma0: float, depth: int, n: int) -> np.ndarray:
    """sigma(t) for sigma' = N sigma^(2-2/N) (s - sigma) / n, sigma(0) = sigma0: the logistic
    closed form for N = 2; for N >= 3 the time to reach sigma, n/N * int dx / (x^a (s - x))
    with a = 2 - 2/N, inverted by bracketing. With 1/(x^a (s-x)) = (x^-a + x^(1-a)/(s-x))/s
    the integral is x^(1-a)/(1-a) + s^(1-a) log(1/(s-x)) in closed form plus the bounded
    int (x^(1-a) - s^(1-a))/(s-x) dx, by scipy quadrature."""
    from scipy.integrate import quad
    from scipy.optimize import brentq

    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    if depth == 2:
        return s_star / (1.0 + (s_star / sigma0 - 1.0) * np.exp(-2.0 * s_star * t / n))
    N, s = depth, s_star
    b = 1.0 - (2.0 - 2.0 / N)  # 1 - a < 0

    def time_to(sig):
        smooth = quad(
            lambda x: (x**b - s**b) / (s - x), sigma0, sig, epsabs=1e-300, epsrel=1e-13, limit=500
        )[0]
        closed = (sig**b - sigma0**b) / b + s**b * (np.log(s - sigma0) - np.log(s - sig))
        return n / (N * s) * (closed + smooth)

    out = np.empty_like(t)
    for i, ti in enumerate(t):
        if ti <= 0:
            out[i] = sigma0
            continue
        hi = s_star * (1 - 1e-15)
        if time_to(hi) <= ti:
            out[i] = hi
            continue
        out[i] = brentq(lambda sig, ti=ti: time_to(sig) - ti, sigma0, hi, xtol=1e-300, rtol=1e-14)
    return out


def low_rank_completion(d: int, r: int, m: int, seed: int) -> MatrixProblem:
    """Arora et al. (2019)'s construction at small size: W* = U V^T / sqrt(r) with Gaussian
    U, V (d x r), scaled to Frobenius norm d (entries of order one), and m entries observed
    uniformly at random without repetition."""
    rows, cols, y, W = problems.low_rank_completion(d, r, m, seed)
    return MatrixProblem(
        f"completion-{d}-r{r}-m{m}-{seed}", (d, d), y, rows=rows, cols=cols, W_star=W
    )


# ---- saddle-to-saddle (THEORY D6) ------------------------------------------------------------


def saddle_switch_off():
    """3 x 4 integer data whose alpha -> 0 staircase switches coordinate 1 off at its third jump.

    Derived by hand (rescaled time tau = t / log(1/alpha), s' = -2 grad L, L = |Xw - y|^2 / 2n):
    b = X^T y / 3 = (5/3, -7/3, -1, 3), so tau_1 = 1 / (2 * 3) = 1/6 on coordinate 3 and
    beta_1 = b_3 / G_33 = 3 / (14/3) = 9/14. Then g = G beta_1 - b = (-79/42, 40/21, 5/2, 0) and
    s(1/6) = b/3 = (5/9, -7/9, -1/3, 1): coordinate 1 reaches -1 first, after (2/9) / (80/21)
    = 7/120 (coordinate 0 would need 28/237, coordinate 2 2/15), so tau_2 = 1/6 + 7/120 = 9/40.
    """
    return problems.saddle_switch_off()


def verify_staircase_sympy(X, y, times, saddles):
    """Check a claimed staircase in exact rational arithmetic (sympy), independently of how it
    was found: on each plateau k, with s_k the dual variable at its start (s_0 = 0) and
    g_k = grad L(beta_k), (i) s(tau) = s_k - 2 (tau - tau_k) g_k stays in [-1, 1] until
    tau_{k+1}, where some moving coordinate reaches +-1; (ii) beta_{k+1} satisfies the KKT
    conditions of min L s.t. sign beta_i in {0, s_i} where |s_i| = 1, beta_i = 0 elsewhere;
    (iii) the last saddle has zero gradient. Returns the number of plateaus checked."""
    import sympy as sp

    Xs = sp.Matrix(X.tolist()).applyfunc(sp.nsimplify)
    ys = sp.Matrix(list(y)).applyfunc(sp.nsimplify)
    n, d = Xs.shape
    G, b = Xs.T * Xs / n, Xs.T * ys / n
    s = sp.zeros(d, 1)
    for k in range(len(times) - 1):
        beta = sp.Matrix(list(saddles[k]))
        g = G * beta - b
        dt = sp.Rational(times[k + 1]) - sp.Rational(times[k])
        s_next = s - 2 * dt * g
        assert dt > 0
        assert all(abs(v) <= 1 for v in s_next), f"s leaves [-1, 1] on plateau {k}"
        assert any(g[i] != 0 and abs(s_next[i]) == 1 for i in range(d)), "no coordinate hits"
        s = s_next
        nxt = sp.Matrix(list(saddles[k + 1]))
        gn = G * nxt - b
        for i in range(d):
            if abs(s[i]) < 1:
                assert nxt[i] == 0
            elif nxt[i] != 0:
                assert sp.sign(nxt[i]) == s[i] and gn[i] == 0
            else:
                assert -s[i] * gn[i] <= 0  # moving beta_i its allowed way cannot lower L
    assert all(v == 0 for v in G * sp.Matrix(list(saddles[-1])) - b)
    return len(times) - 1


# ---- other geometries: mirror flows and steepest descent (written out with cvxpy) -----------


def bregman_pnorm_cvxpy(X, y, w0, p: float) -> np.ndarray:
    """argmin D_psi(w, w0) s.t. Xw = y, psi = ||w||_p^p / p: min psi(w) - <grad psi(w0), w>."""
    z0 = np.sign(w0) * np.abs(w0) ** (p - 1)
    w = cp.Variable(X.shape[1])
    objective = cp.sum(cp.power(cp.abs(w), p)) / p - z0 @ w
    cp.Problem(cp.Minimize(objective), [X @ w == y]).solve(
        solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12
    )
    return np.asarray(w.value)


def bregman_entropy_cvxpy(X, y, w0) -> np.ndarray:
    """argmin KL(w, w0) = sum w log(w / w0) - w + w0 s.t. Xw = y, w > 0 (exponential cone)."""
    w = cp.Variable(X.shape[1])
    objective = -cp.sum(cp.entr(w)) - cp.sum(w) - np.log(w0) @ w
    cp.Problem(cp.Minimize(objective), [X @ w == y]).solve(
        solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12
    )
    return np.asarray(w.value)


def lp_margin_cvxpy(X, y, p: float) -> np.ndarray:
    """argmin ||w||_p s.t. y_i x_i.w >= 1."""
    Z = y[:, None] * X
    w = cp.Variable(X.shape[1])
    cp.Problem(cp.Minimize(cp.norm(w, p)), [Z @ w >= 1]).solve(
        solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12
    )
    return np.asarray(w.value)


def positive_regression(n: int, d: int, seed: int) -> RegressionProblem:
    """Targets reachable with w > 0 (y = X w_plus, w_plus > 0) and a positive w0: for the
    entropy potential."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w_plus = rng.uniform(0.5, 1.5, size=d)
    return RegressionProblem(f"positive({n},{d},{seed})", X, X @ w_plus, rng.uniform(0.2, 1, d))


# ---- Adam and AdamW ---------------------------------------------------------------------------


def square_loss_gradient(X, y, w):
    """grad of L = ||Xw - y||^2 / (2n)."""
    return X.T @ (X @ w - y) / X.shape[0]


def linf_box_least_squares_cvxpy(X, y, radius: float) -> np.ndarray:
    """argmin ||Xw - y||^2 / (2n) s.t. ||w||_inf <= radius."""
    w = cp.Variable(X.shape[1])
    objective = cp.sum_squares(X @ w - y) / (2 * X.shape[0])
    cp.Problem(cp.Minimize(objective), [cp.norm(w, "inf") <= radius]).solve(
        solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12
    )
    return np.asarray(w.value)


def adamw_fixed_point(X, y, radius: float, eps: float, start: np.ndarray) -> np.ndarray:
    """The rest point of the AdamW flow on least squares at stability constant eps: its moments
    equal g and g^2 there, so -g / (|g| + eps) - w / radius = 0 (scipy's root finder)."""
    from scipy.optimize import root

    def F(w):
        g = square_loss_gradient(X, y, w)
        return -g / (np.abs(g) + eps) - w / radius

    sol = root(F, start, method="hybr", tol=1e-13)
    # Judged by its residual (hybr may report that it cannot improve further once there).
    assert np.max(np.abs(F(sol.x))) < 1e-11, sol.message
    return sol.x


def l1_margin_lp_cvxpy(H, y) -> float:
    """max_{||w||_1 <= 1} min_i y_i (Hw)_i, the l1 max-margin over the features."""
    Z = y[:, None] * H
    w, t = cp.Variable(H.shape[1]), cp.Variable()
    cp.Problem(cp.Maximize(t), [Z @ w >= t, cp.norm(w, 1) <= 1]).solve(solver="CLARABEL")
    return float(t.value)
