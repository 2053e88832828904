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
answer_4 = 1 / 1e4  # (JᵀJ + λI)δ = -Jᵀr with λI dominant: δ ≈ -Jᵀr/λ
