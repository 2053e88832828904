"""Solutions of lesson 11's exercises (``build_solutions.py`` puts each into the solutions notebook)."""

# %% 11.1
answer_1 = (9 - 5) / math.sqrt(4)  # mean 40/8 = 5; variance (9+1+1+1+0+0+4+16)/8 = 4; so 4/2 = 2

# %% 11.2
answer_2 = 0.9 * 1.0 + 0.1 * 4.0 * 8 / 7  # unbiased variance 32/7; 0.9 + 0.457... = 1.357...

# %% 11.3
def batchnorm_backward(x, gamma, upstream, eps):
    n = len(x)
    mean = sum(x) / n  # forward: the batch statistics (biased variance), then x_hat
    inv_std = 1 / math.sqrt(sum((v - mean) ** 2 for v in x) / n + eps)
    x_hat = [(v - mean) * inv_std for v in x]
    dbeta = sum(upstream)  # y_i = gamma x_hat_i + beta
    dgamma = sum(g * h for g, h in zip(upstream, x_hat))
    g_mean, gx_mean = dbeta / n, dgamma / n  # <g> and <g x_hat>
    dx = [gamma * inv_std * (g - g_mean - h * gx_mean) for g, h in zip(upstream, x_hat)]
    return dx, dgamma, dbeta


answer_3 = batchnorm_backward

# %% 11.4
answer_4 = (2 / math.sqrt(4), 0.5 - 3 * 2 / math.sqrt(4))  # a = gamma / sqrt(var) = 1, c = beta - a * mean = -2.5
