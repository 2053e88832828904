"""Solutions of lesson 13's exercises (``build_solutions.py`` puts each into the solutions notebook)."""

# %% 13.1
def jacobian_row(a, b, c, x):
    return math.exp(-b * x), -a * x * math.exp(-b * x), 1.0


answer_1 = jacobian_row

# %% 13.2
answer_2 = 28 / (14 + 1e-3)  # Σ x_i·r_i = -(2 + 8 + 18) = -28, Σ x_i² = 14

# %% 13.3
def lm_step(J, r, lam):
    n = len(J[0])
    columns = list(zip(*J))  # column k of J: d r_i / d theta_k for every i
    A = [[sum(p * q for p, q in zip(columns[i], columns[j])) + (lam if i == j else 0.0) for j in range(n)]
         for i in range(n)]  # J^T J + lam I
    minus_gradient = [-sum(p * q for p, q in zip(columns[i], r)) for i in range(n)]  # -J^T r
    return cholesky_solve(A, minus_gradient)


answer_3 = lm_step

# %% 13.4
def large_damping_step(J, r, lam):
    m, n = len(J), len(J[0])
    g = [sum(J[i][k] * r[i] for i in range(m)) for k in range(n)]  # ∇L = Jᵀr
    Jg = [sum(J[i][k] * g[k] for k in range(n)) for i in range(m)]  # J g
    Ag = [sum(J[i][k] * Jg[i] for i in range(m)) for k in range(n)]  # Jᵀ(J g) = (JᵀJ) g
    return [-g[k] / lam + Ag[k] / lam**2 for k in range(n)]


answer_4 = large_damping_step
