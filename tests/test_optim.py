"""``nn.optim`` against ``torch.optim``: trajectories, clipping, schedules, validation, state.

The optimizer tests run the same problem in both libraries: a fixed function
of four parameters (a Rosenbrock valley plus a tanh "neuron"), built once from
``Value``\\ s and once from float64 tensors, minimised for 50 steps. The
parameters must agree at every step to 1e-9 (relative, with a 1e-12 absolute
floor). They do not agree bit for bit: PyTorch's CPU kernels fuse multiply-adds
and its gradients round differently from ours; ~1e-16 relative is typical.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from autograd import Value
from nn import optim

START = (-1.2, 1.0, 0.5, -0.3)
STEPS = 50


def objective(a, b, c, d):
    """Works on ``Value``\\ s and on tensors alike."""
    return (1 - a) ** 2 + 5 * (b - a * a) ** 2 + ((a * c + d).tanh() - 0.5) ** 2 + 0.1 * (c * d - 1) ** 2


def _run(lib, make_param, read, name, kwargs, schedule, steps):
    """Minimise ``objective`` with optimizer ``name`` of ``lib`` (ours or torch's); return every step."""
    params = [make_param(x) for x in START]
    opt = getattr(lib.optimizers, name)(params, **kwargs)
    sched = None if schedule is None else getattr(lib.schedulers, schedule[0])(opt, **schedule[1])
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        objective(*params).backward()
        opt.step()
        if sched is not None:
            sched.step()
        trajectory.append([read(p) for p in params])
    return trajectory


class _Ours:
    optimizers = schedulers = optim


class _Torch:
    optimizers = torch.optim
    schedulers = torch.optim.lr_scheduler


def run_ours(name, kwargs, schedule=None, steps=STEPS):
    return _run(_Ours, Value, lambda p: p.data, name, kwargs, schedule, steps)


def run_torch(name, kwargs, schedule=None, steps=STEPS):
    def tensor(x):
        return torch.tensor(x, dtype=torch.float64, requires_grad=True)

    return _run(_Torch, tensor, lambda p: p.item(), name, kwargs, schedule, steps)


def assert_same_trajectory(ours, theirs):
    assert len(ours) == len(theirs)
    for t, (mine, ref) in enumerate(zip(ours, theirs, strict=True)):
        for i, (x, y) in enumerate(zip(mine, ref, strict=True)):
            assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12), (
                f"step {t + 1}, parameter {i}: {x!r} vs {y!r}"
            )
    # The problem must actually have moved the parameters, or the comparison proves little.
    assert max(abs(x - x0) for x, x0 in zip(ours[-1], START, strict=True)) > 1e-2


CASES = [
    ("SGD", {}),
    ("SGD", {"lr": 0.01}),
    ("SGD", {"lr": 0.005, "momentum": 0.9}),
    ("SGD", {"lr": 0.005, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.005, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 1e-4, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.1, "eps": 0.0}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.005, "alpha": 0.9, "momentum": 0.5}),
    ("RMSprop", {"lr": 0.005, "centered": True}),
    ("RMSprop", {"lr": 0.002, "centered": True, "momentum": 0.7, "weight_decay": 0.1, "eps": 1e-6}),
    ("RMSprop", {"lr": 0.005, "alpha": 0.3, "maximize": True}),  # alpha < 0.5: lerp's other branch
    ("Adam", {}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.95), "amsgrad": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "eps": 1e-4}),
    ("Adam", {"lr": 0.05, "betas": (0.3, 0.9), "maximize": True}),  # 1 - beta1 >= 0.5
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.5, "amsgrad": True}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2)}),
    ("Rprop", {"lr": 0.01, "maximize": True}),
]


@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{n}-{kw}" for n, kw in CASES])
def test_trajectory_matches_torch(name, kwargs):
    assert_same_trajectory(run_ours(name, kwargs), run_torch(name, kwargs))


SCHEDULED = [
    ("SGD", {"lr": 0.01, "momentum": 0.9}, ("StepLR", {"step_size": 5, "gamma": 0.5})),
    ("Adam", {"lr": 0.1}, ("CosineAnnealingLR", {"T_max": 20, "eta_min": 0.01})),
    ("RMSprop", {"lr": 0.01}, ("ExponentialLR", {"gamma": 0.95})),
    # Rprop reads lr only at the first step: the schedule must then change nothing.
    ("Rprop", {"lr": 0.05}, ("StepLR", {"step_size": 1, "gamma": 0.5})),
]


@pytest.mark.parametrize("name, kwargs, schedule", SCHEDULED, ids=[s[2][0] + "-" + s[0] for s in SCHEDULED])
def test_scheduled_trajectory_matches_torch(name, kwargs, schedule):
    assert_same_trajectory(run_ours(name, kwargs, schedule), run_torch(name, kwargs, schedule))


def test_the_schedule_changes_the_trajectory():
    """Guards the test above: a schedule that did nothing would not be caught by it otherwise."""
    kwargs = {"lr": 0.01, "momentum": 0.9}
    plain = run_ours("SGD", kwargs)
    scheduled = run_ours("SGD", kwargs, ("StepLR", {"step_size": 5, "gamma": 0.5}))
    assert plain[4] == scheduled[4]  # the first decay acts from step 6 on
    assert plain[-1] != scheduled[-1]


# -------------------------------------------------------------- NaN and inf


def one_step_from_grads(make, grads, steps=2):
    """Parameters after ``steps`` steps with fixed gradients, (ours, torch)."""
    ours = [Value(x) for x in (1.0, -2.0, 3.0)]
    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in (1.0, -2.0, 3.0)]
    opt_ours, opt_theirs = make(optim, ours), make(torch.optim, theirs)
    for _ in range(steps):
        for p, q, g in zip(ours, theirs, grads, strict=True):
            p.grad = g
            q.grad = torch.tensor(g, dtype=torch.float64)
        opt_ours.step()
        opt_theirs.step()
    return [p.data for p in ours], [q.item() for q in theirs]


def same_float(x, y):
    return (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib, ps: lib.SGD(ps, lr=0.1, momentum=0.9),
        lambda lib, ps: lib.Adagrad(ps),
        lambda lib, ps: lib.Adagrad(ps, eps=0.0),
        lambda lib, ps: lib.RMSprop(ps, centered=True, momentum=0.5),
        lambda lib, ps: lib.Adam(ps, amsgrad=True),
        lambda lib, ps: lib.AdamW(ps),
        lambda lib, ps: lib.Rprop(ps),
    ],
    ids=["SGD", "Adagrad", "Adagrad-eps0", "RMSprop", "Adam", "AdamW", "Rprop"],
)
@pytest.mark.parametrize("grads", [(math.nan, 1.0, -0.5), (math.inf, -math.inf, 0.0)], ids=["nan", "inf"])
def test_non_finite_gradients_propagate_as_in_torch(make, grads):
    ours, theirs = one_step_from_grads(make, grads)
    assert all(same_float(x, y) for x, y in zip(ours, theirs, strict=True)), (ours, theirs)


# -------------------------------------------------------------- validation

BAD_FOR_BOTH = [  # rejected by torch.optim too: same kind of error
    ("SGD", {"lr": -0.1}, "lr"),
    ("SGD", {"momentum": -0.5}, "momentum"),
    ("SGD", {"weight_decay": -1e-3}, "weight_decay"),
    ("SGD", {"nesterov": True}, "nesterov"),
    ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "nesterov"),
    ("Adagrad", {"lr": -1.0}, "lr"),
    ("Adagrad", {"lr_decay": -0.1}, "lr_decay"),
    ("Adagrad", {"weight_decay": -0.1}, "weight_decay"),
    ("Adagrad", {"initial_accumulator_value": -1.0}, "initial_accumulator_value"),
    ("Adagrad", {"eps": -1e-10}, "eps"),
    ("RMSprop", {"lr": -0.01}, "lr"),
    ("RMSprop", {"alpha": -0.1}, "alpha"),
    ("RMSprop", {"eps": -1.0}, "eps"),
    ("RMSprop", {"momentum": -0.1}, "momentum"),
    ("RMSprop", {"weight_decay": -0.1}, "weight_decay"),
    ("Adam", {"lr": -1e-3}, "lr"),
    ("Adam", {"betas": (1.0, 0.999)}, r"betas\[0\]"),
    ("Adam", {"betas": (-0.1, 0.999)}, r"betas\[0\]"),
    ("Adam", {"betas": (0.9, 1.0)}, r"betas\[1\]"),
    ("Adam", {"eps": -1e-8}, "eps"),
    ("Adam", {"weight_decay": -0.1}, "weight_decay"),
    ("AdamW", {"betas": (0.9, 1.5)}, r"betas\[1\]"),
    ("AdamW", {"weight_decay": -0.01}, "weight_decay"),
    ("Rprop", {"lr": -0.01}, "lr"),
    ("Rprop", {"etas": (1.0, 1.2)}, "etas"),
    ("Rprop", {"etas": (0.0, 1.2)}, "etas"),
    ("Rprop", {"etas": (0.5, 1.0)}, "etas"),
]
BAD_FOR_US = [  # accepted by torch.optim, but meaningless: rejected here
    ("SGD", {"lr": math.nan}, "lr"),  # torch's SGD checks `lr < 0`, which NaN passes
    ("SGD", {"momentum": 0.9, "dampening": 1.5}, "dampening"),
    ("SGD", {"momentum": 0.9, "dampening": -0.5}, "dampening"),
    ("RMSprop", {"alpha": 1.5}, "alpha"),
    ("Rprop", {"step_sizes": (1.0, 0.1)}, "step_sizes"),
    ("Rprop", {"step_sizes": (-1.0, 1.0)}, "step_sizes"),
]


@pytest.mark.parametrize("name, kwargs, match", BAD_FOR_BOTH + BAD_FOR_US)
def test_bad_hyper_parameter_raises_value_error_naming_it(name, kwargs, match):
    params = [Value(1.5), Value(-2.0)]
    params[0].grad = 0.25
    with pytest.raises(ValueError, match=match):
        getattr(optim, name)(params, **kwargs)
    assert [(p.data, p.grad) for p in params] == [(1.5, 0.25), (-2.0, 0.0)]


@pytest.mark.parametrize("name, kwargs, match", BAD_FOR_BOTH)
def test_torch_rejects_the_same_hyper_parameters(name, kwargs, match):
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([torch.zeros((), dtype=torch.float64, requires_grad=True)], **kwargs)


@pytest.mark.parametrize(
    "name, kwargs, match",
    [
        ("SGD", {"lr": "0.1"}, "lr"),
        ("SGD", {"lr": None}, "lr"),
        ("SGD", {"lr": True}, "lr"),
        ("SGD", {"momentum": [0.9]}, "momentum"),
        ("SGD", {"momentum": 0.9, "nesterov": 1}, "nesterov"),
        ("Adagrad", {"eps": "tiny"}, "eps"),
        ("RMSprop", {"centered": "yes"}, "centered"),
        ("Adam", {"betas": 0.9}, "betas"),
        ("Adam", {"betas": (0.9, 0.99, 0.999)}, "betas"),
        ("Adam", {"betas": ("a", 0.999)}, r"betas\[0\]"),
        ("Adam", {"amsgrad": None}, "amsgrad"),
        ("AdamW", {"maximize": 0}, "maximize"),
        ("Rprop", {"etas": (0.5, "1.2")}, r"etas\[1\]"),
    ],
)
def test_non_number_hyper_parameter_raises_type_error(name, kwargs, match):
    with pytest.raises(TypeError, match=match):
        getattr(optim, name)([Value(1.0)], **kwargs)


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Rprop"])
def test_parameters_must_be_a_non_empty_iterable_of_distinct_values(name):
    cls = getattr(optim, name)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        cls([])
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        cls(iter(()))
    with pytest.raises(TypeError, match="parameter 1"):
        cls([Value(1.0), 2.0])
    with pytest.raises(TypeError, match="single Value"):
        cls(Value(1.0))
    with pytest.raises(TypeError, match="iterable"):
        cls(42)
    p = Value(1.0)
    with pytest.raises(ValueError, match="more than once"):
        cls([p, Value(2.0), p])


def test_a_generator_of_parameters_is_turned_into_a_list():
    params = [Value(1.0), Value(2.0)]
    opt = optim.SGD(p for p in params)
    assert opt.params == params
    for p in params:
        p.grad = 1.0
    opt.step()
    assert [p.data for p in params] == [1.0 - 1e-3, 2.0 - 1e-3]  # lr defaults to 1e-3, as in torch 2.13


def test_lr_setter_validates_and_leaves_lr_unchanged_on_error():
    opt = optim.Adam([Value(1.0)], lr=0.01)
    opt.lr = 0.5
    assert opt.lr == 0.5
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -0.1
    with pytest.raises(TypeError, match="lr"):
        opt.lr = "fast"
    assert opt.lr == 0.5


# -------------------------------------------------------------- zero_grad, step, closure


def test_zero_grad_sets_every_gradient_to_zero_and_step_does_not():
    params = [Value(1.0), Value(-2.0), Value(3.0)]
    opt = optim.SGD(params, lr=0.1)
    objective(params[0], params[1], params[2], params[0]).backward()
    grads = [p.grad for p in params]
    assert all(g != 0.0 for g in grads)
    opt.step()
    assert [p.grad for p in params] == grads  # step reads the gradients, it does not clear them
    opt.zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0, 0.0]
    assert all(isinstance(p.grad, float) for p in params)


def test_a_step_records_no_graph():
    p = Value(2.0)
    p.grad = 1.0
    optim.Adam([p]).step()
    assert p.is_leaf and p.parents == ()
    assert isinstance(p.data, float)


WITH_STATE = [
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("Adagrad", {"lr": 0.1}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Rprop", {}),
]


@pytest.mark.parametrize("name, kwargs", WITH_STATE, ids=[n for n, _ in WITH_STATE])
def test_a_step_writes_python_floats_even_from_numpy_float32_numbers(name, kwargs):
    # NumPy 2 keeps float32 when it meets a Python float: an update computed
    # from a float32 gradient would be float32, and so would every graph built on it.
    params = [Value(1.0), Value(-2.0)]
    opt = getattr(optim, name)(params, **kwargs)
    for _ in range(2):
        for p, g in zip(params, (np.float32(0.1), np.float32(-0.3)), strict=True):
            p.grad = g
        opt.step()
    assert [type(p.data) for p in params] == [float, float]
    assert all(type(v) is float for values in opt.state_dict()["state"].values() for v in values)


def test_step_with_closure_returns_the_loss_and_uses_the_fresh_gradients():
    params = [Value(x) for x in START]
    opt = optim.SGD(params, lr=0.01)

    def closure():
        opt.zero_grad()
        loss = objective(*params)
        loss.backward()
        return loss

    expected = objective(*(Value(x) for x in START)).data
    loss = opt.step(closure)
    assert loss.data == expected
    assert [p.data for p in params] == pytest.approx(run_ours("SGD", {"lr": 0.01}, steps=1)[0], abs=0)


# -------------------------------------------------------------- state_dict

STATEFUL = [
    ("SGD", {"lr": 0.005, "momentum": 0.9}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}),
    ("RMSprop", {"lr": 0.005, "centered": True, "momentum": 0.5}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.05}),
    ("Rprop", {}),
]


def train(opt, params, steps):
    for _ in range(steps):
        opt.zero_grad()
        objective(*params).backward()
        opt.step()


@pytest.mark.parametrize("name, kwargs", STATEFUL, ids=[n for n, _ in STATEFUL])
def test_state_dict_resumes_training_exactly(name, kwargs):
    cls = getattr(optim, name)
    params = [Value(x) for x in START]
    opt = cls(params, **kwargs)
    train(opt, params, 10)
    saved = opt.state_dict()
    snapshot = repr(saved)
    resumed_params = [Value(p.data) for p in params]
    train(opt, params, 10)
    assert repr(saved) == snapshot  # the state dict is a copy, not a view of the live state

    resumed = cls(resumed_params, **kwargs)
    resumed.load_state_dict(saved)
    assert resumed.steps == 10
    train(resumed, resumed_params, 10)
    assert [p.data for p in resumed_params] == [p.data for p in params]


def test_load_state_dict_rejects_a_bad_dict_and_changes_nothing():
    params = [Value(x) for x in START]
    opt = optim.Adam(params, lr=0.05)
    train(opt, params, 3)
    before = opt.state_dict()
    good = opt.state_dict()
    bad_dicts = [
        {k: v for k, v in good.items() if k != "steps"},
        {**good, "steps": -1},
        {**good, "lr": -1.0},
        {**good, "state": {**good["state"], "exp_avg": [0.0]}},
        {**good, "state": {k: v for k, v in good["state"].items() if k != "exp_avg_sq"}},
    ]
    for bad in bad_dicts:
        with pytest.raises(ValueError):
            opt.load_state_dict(bad)
    with pytest.raises(TypeError, match="not str"):
        opt.load_state_dict("not a dict")
    with pytest.raises(TypeError):
        opt.load_state_dict({**good, "state": {**good["state"], "exp_avg": ["x"] * 4}})
    assert opt.state_dict() == before


STATE_CASES = [
    # (optimizer, the state list to corrupt, the bad entry, error, words)
    ("Adam", "exp_avg", None, TypeError, r"\['exp_avg'\]\[1\] must be a real number, not NoneType"),
    ("Adam", "exp_avg", math.nan, ValueError, r"\['exp_avg'\]\[1\] is nan"),
    ("Adam", "exp_avg", math.inf, ValueError, r"\['exp_avg'\]\[1\] is inf"),
    ("Adam", "exp_avg", True, TypeError, r"\['exp_avg'\]\[1\] must be a real number, not bool"),
    ("Adam", "exp_avg", "0.1", TypeError, r"\['exp_avg'\]\[1\] must be a real number, not str"),
    ("Adam", "exp_avg", 10**400, OverflowError, r"\['exp_avg'\]\[1\] is 100000…000 \(401 digits\)"),
    ("Adam", "exp_avg_sq", -1e-3, ValueError, r"\['exp_avg_sq'\]\[1\] is -0.001: a second moment"),
    ("Adam", "max_exp_avg_sq", -1.0, ValueError, r"\['max_exp_avg_sq'\]\[1\] is -1.0"),
    ("Adagrad", "sum", -0.5, ValueError, r"\['sum'\]\[1\] is -0.5"),
    ("RMSprop", "square_avg", -0.5, ValueError, r"\['square_avg'\]\[1\] is -0.5"),
    ("RMSprop", "momentum_buffer", None, TypeError, r"\['momentum_buffer'\]\[1\].*NoneType"),
    ("Rprop", "step_size", -0.5, ValueError, r"\['step_size'\]\[1\] is -0.5"),
    ("SGD", "momentum_buffer", math.nan, ValueError, r"\['momentum_buffer'\]\[1\] is nan"),
]


@pytest.mark.parametrize(
    "name, key, entry, error, words", STATE_CASES, ids=[f"{c[0]}-{c[1]}-{c[3].__name__}" for c in STATE_CASES]
)
def test_load_state_dict_refuses_a_bad_state_entry_and_changes_nothing(name, key, entry, error, words):
    params = [Value(x) for x in START]
    opt = getattr(optim, name)(params, lr=0.01, **({"momentum": 0.9} if name in ("SGD", "RMSprop") else {}))
    train(opt, params, 3)
    before = opt.state_dict()
    bad = opt.state_dict()
    bad["state"][key][1] = entry
    with pytest.raises(error, match=words):
        opt.load_state_dict(bad)
    assert opt.state_dict() == before
    train(opt, params, 1)  # and it still works


def test_load_state_dict_names_unknown_and_missing_keys_and_wrong_shapes():
    params = [Value(x) for x in START]
    opt = optim.Adam(params, lr=0.05)
    train(opt, params, 2)
    before = opt.state_dict()
    good = opt.state_dict()

    def with_state(name, values):
        return {**good, "state": {**good["state"], name: values}}

    cases = [
        ({**good, "momentum": 0.9}, ValueError, r"unexpected key\(s\) 'momentum'"),
        ({k: v for k, v in good.items() if k != "lr"}, ValueError, r"missing key\(s\) 'lr'"),
        (with_state("sum", [0.0] * 4), ValueError, r"unexpected key\(s\) 'sum'"),
        (with_state("exp_avg", (0.0,) * 4), TypeError, r"\['exp_avg'\] must be a list"),
        (with_state("exp_avg", [0.0] * 5), ValueError, r"\['exp_avg'\].* 4 numbers, not 5"),
        ({**good, "steps": 2.0}, TypeError, r"state_dict\['steps'\] must be an int"),
        ({**good, "steps": True}, TypeError, r"state_dict\['steps'\] must be an int"),
        ({**good, "lr": math.nan}, ValueError, r"lr"),
        ({**good, "state": None}, TypeError, r"state_dict\['state'\] must be a dict"),
        (None, TypeError, r"state_dict must be a dict"),
    ]
    for bad, error, words in cases:
        with pytest.raises(error, match=words):
            opt.load_state_dict(bad)
    assert opt.state_dict() == before


def test_sgd_momentum_buffers_may_still_be_none_before_the_first_step():
    params = [Value(x) for x in START]
    opt = optim.SGD(params, lr=0.01, momentum=0.9)
    fresh = opt.state_dict()
    assert fresh["state"]["momentum_buffer"] == [None] * 4
    opt.load_state_dict(fresh)
    train(opt, params, 1)
    assert all(isinstance(b, float) for b in opt.momentum_buffer)


# -------------------------------------------------------------- clipping

GRADS = (3.0, -4.0, 0.5, 12.0, -1e-3)


def clip_both(grads, clip_ours, clip_theirs):
    ours = [Value(1.0) for _ in grads]
    theirs = [torch.tensor(1.0, dtype=torch.float64, requires_grad=True) for _ in grads]
    for p, q, g in zip(ours, theirs, grads, strict=True):
        p.grad = g
        q.grad = torch.tensor(g, dtype=torch.float64)
    result_ours = clip_ours(ours)
    result_theirs = clip_theirs(theirs)
    return result_ours, [p.grad for p in ours], result_theirs, [q.grad.item() for q in theirs]


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, 0.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 5.0, 1000.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    total, grads, total_t, grads_t = clip_both(
        GRADS,
        lambda ps: optim.clip_grad_norm_(ps, max_norm, norm_type),
        lambda ps: torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type),
    )
    assert isinstance(total, float)
    assert math.isclose(total, total_t.item(), rel_tol=1e-12)
    assert all(math.isclose(g, h, rel_tol=1e-12) for g, h in zip(grads, grads_t, strict=True))
    if max_norm < total:  # clipped: the new norm is max_norm (up to the 1e-6)
        assert grads != list(GRADS)
    else:
        assert grads == list(GRADS)


def test_clip_grad_norm_clips_to_max_norm_and_keeps_the_direction():
    params = [Value(0.0) for _ in GRADS]
    for p, g in zip(params, GRADS, strict=True):
        p.grad = g
    total = optim.clip_grad_norm_(params, 2.0)
    assert total == pytest.approx(math.sqrt(sum(g * g for g in GRADS)))
    assert math.sqrt(sum(p.grad**2 for p in params)) == pytest.approx(2.0, rel=1e-6)
    assert [p.grad / g for p, g in zip(params, GRADS, strict=True)] == pytest.approx(
        [2.0 / (total + 1e-6)] * len(GRADS)
    )


@pytest.mark.parametrize("grads", [(1.0, math.nan, 2.0), (1.0, math.inf, -2.0), (1e200, 1e200, 1.0)])
@pytest.mark.parametrize("norm_type", [2.0, 3.0, math.inf])
def test_clip_grad_norm_with_non_finite_gradients_matches_torch(grads, norm_type):
    total, clipped, total_t, clipped_t = clip_both(
        grads,
        lambda ps: optim.clip_grad_norm_(ps, 1.0, norm_type),
        lambda ps: torch.nn.utils.clip_grad_norm_(ps, 1.0, norm_type),
    )
    assert same_float(total, total_t.item())
    assert all(same_float(g, h) for g, h in zip(clipped, clipped_t, strict=True)), (clipped, clipped_t)


def test_clip_grad_norm_error_if_nonfinite_raises_before_changing_anything():
    params = [Value(0.0), Value(0.0)]
    params[0].grad, params[1].grad = 1.0, math.inf
    with pytest.raises(RuntimeError, match="non-finite|inf"):
        optim.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert [p.grad for p in params] == [1.0, math.inf]


def test_clip_accepts_a_single_value_and_rejects_bad_arguments():
    p = Value(0.0)
    p.grad = -10.0
    assert optim.clip_grad_norm_(p, 1.0) == 10.0
    assert p.grad == pytest.approx(-1.0, rel=1e-6)
    optim.clip_grad_value_(p, 0.5)
    assert p.grad == -0.5
    assert optim.clip_grad_norm_([], 1.0) == 0.0
    for bad, error in [({"max_norm": -1.0}, ValueError), ({"norm_type": 0.0}, ValueError)]:
        with pytest.raises(error, match=next(iter(bad))):
            optim.clip_grad_norm_([p], **{"max_norm": 1.0, **bad})
    with pytest.raises(TypeError, match="max_norm"):
        optim.clip_grad_norm_([p], "1")
    with pytest.raises(TypeError, match="parameter 0"):
        optim.clip_grad_norm_([1.0], 1.0)
    with pytest.raises(ValueError, match="clip_value"):
        optim.clip_grad_value_([p], -1.0)
    assert p.grad == -0.5


@pytest.mark.parametrize("clip_value", [0.0, 0.75, 5.0])
def test_clip_grad_value_matches_torch(clip_value):
    grads = (3.0, -4.0, 0.5, -0.25, math.nan, math.inf, -math.inf)
    _, clipped, _, clipped_t = clip_both(
        grads,
        lambda ps: optim.clip_grad_value_(ps, clip_value),
        lambda ps: torch.nn.utils.clip_grad_value_(ps, clip_value),
    )
    assert all(same_float(g, h) for g, h in zip(clipped, clipped_t, strict=True)), (clipped, clipped_t)
    assert max(abs(g) for g in clipped if not math.isnan(g)) <= clip_value


# -------------------------------------------------------------- schedules


def lrs_both(schedule, kwargs, lr=0.1, steps=60):
    ours = optim.SGD([Value(1.0)], lr=lr)
    theirs = torch.optim.SGD([torch.zeros((), dtype=torch.float64, requires_grad=True)], lr=lr)
    sched_ours = getattr(optim, schedule)(ours, **kwargs)
    sched_theirs = getattr(torch.optim.lr_scheduler, schedule)(theirs, **kwargs)
    got, expected = [sched_ours.get_last_lr()], [sched_theirs.get_last_lr()]
    for _ in range(steps):
        ours.step()
        theirs.step()
        sched_ours.step()
        sched_theirs.step()
        got.append(sched_ours.get_last_lr())
        expected.append(sched_theirs.get_last_lr())
        assert ours.lr == got[-1][0]
    return got, expected


@pytest.mark.parametrize(
    "schedule, kwargs",
    [
        ("StepLR", {"step_size": 7}),
        ("StepLR", {"step_size": 3, "gamma": 0.7}),
        ("StepLR", {"step_size": 1, "gamma": 0.9}),
        ("ExponentialLR", {"gamma": 0.93}),
        ("CosineAnnealingLR", {"T_max": 10}),
        ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.003}),  # six half-periods: the restart branch
        ("CosineAnnealingLR", {"T_max": 55, "eta_min": 1e-4}),
        ("CosineAnnealingLR", {"T_max": 1}),
        ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.05}),
    ],
)
def test_schedule_matches_torch(schedule, kwargs):
    got, expected = lrs_both(schedule, kwargs)
    # Same Python float operations in the same order: equal to the last bit (the brief asks 1e-12).
    assert got == expected
    assert len({lr for [lr] in got}) >= 2  # the schedule did change the learning rate


def test_cosine_follows_the_closed_form_approximately():
    got, _ = lrs_both("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.003})
    for e, [lr] in enumerate(got):
        closed = 0.003 + (0.1 - 0.003) * (1 + math.cos(math.pi * e / 10)) / 2
        assert math.isclose(lr, closed, rel_tol=1e-9, abs_tol=1e-15)
    assert got[10] == [pytest.approx(0.003)] and got[20] == [pytest.approx(0.1)]


def test_schedule_state_dict_round_trip():
    opt = optim.SGD([Value(1.0)], lr=0.1)
    sched = optim.CosineAnnealingLR(opt, T_max=10)
    for _ in range(4):
        sched.step()
    saved = sched.state_dict()
    other = optim.CosineAnnealingLR(optim.SGD([Value(1.0)], lr=0.1), T_max=10)
    other.load_state_dict(saved)
    for _ in range(5):
        sched.step()
        other.step()
    assert other.get_last_lr() == sched.get_last_lr()
    with pytest.raises(ValueError, match="last_epoch"):
        other.load_state_dict({**saved, "last_epoch": -3})
    assert other.last_epoch == 9


def test_cosine_schedules_from_valid_settings_never_give_an_invalid_lr_and_follow_torch():
    # With lr 0 (or below eta_min) PyTorch's recursive form rounds a few learning
    # rates to about -1e-19 .. -1e-14 (CosineAnnealingLR(SGD(lr=0), T_max=3,
    # eta_min=1e-3) at epoch 6). Ours is PyTorch's number, bit for bit, until
    # PyTorch goes below 0; there ours is 0, and the recursion then continues
    # from 0 instead of -1e-19, so later rates agree to rounding only.
    scale = 1e-13
    rounded_below_zero = 0
    for lr in (0.0, 0.1):
        for T_max in range(1, 13):
            for eta_min in (0.0, 1e-4, 1e-3, 0.05, 0.3, 1.0, 3.0):
                got, expected = lrs_both("CosineAnnealingLR", {"T_max": T_max, "eta_min": eta_min}, lr, 40)
                exact = True
                for [mine], [theirs] in zip(got, expected, strict=True):
                    assert mine >= 0.0
                    if theirs < 0.0:
                        rounded_below_zero += 1
                        exact = False
                        assert mine == 0.0 and theirs > -scale * max(lr, eta_min)
                    elif exact:
                        assert mine == theirs
                    else:
                        assert math.isclose(mine, theirs, rel_tol=1e-12, abs_tol=scale * max(lr, eta_min))
    assert rounded_below_zero > 0  # the grid does reach PyTorch's rounding below zero
    opt = optim.SGD([Value(1.0)], lr=0.0)
    sched = optim.CosineAnnealingLR(opt, T_max=3, eta_min=1e-3)
    for _ in range(6):
        sched.step()
    assert opt.lr == 0.0  # PyTorch: -8.67e-19


def test_a_schedule_state_dict_restores_the_optimizer_learning_rate():
    opt = optim.SGD([Value(1.0)], lr=0.1)
    sched = optim.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(5):
        sched.step()
    assert opt.lr == 0.025
    resumed_opt = optim.SGD([Value(1.0)], lr=0.1)
    resumed = optim.StepLR(resumed_opt, step_size=2, gamma=0.5)
    resumed.load_state_dict(sched.state_dict())
    assert resumed_opt.lr == 0.025 and resumed.get_last_lr() == [0.025]
    for _ in range(3):
        sched.step()
        resumed.step()
        assert resumed_opt.lr == opt.lr


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda o: optim.StepLR(o, step_size=2, gamma=math.inf), ValueError, "gamma"),
        (lambda o: optim.ExponentialLR(o, gamma=math.nan), ValueError, "gamma"),
        (lambda o: optim.CosineAnnealingLR(o, T_max=3, eta_min=math.inf), ValueError, "eta_min"),
    ],
)
def test_schedule_settings_must_be_finite(make, error, match):
    opt = optim.SGD([Value(1.0)], lr=0.1)
    with pytest.raises(error, match=match):
        make(opt)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda o: optim.StepLR(o, step_size=0), ValueError, "step_size"),
        (lambda o: optim.StepLR(o, step_size=-2), ValueError, "step_size"),
        (lambda o: optim.StepLR(o, step_size=2.5), TypeError, "step_size"),
        (lambda o: optim.StepLR(o, step_size=2, gamma=0.0), ValueError, "gamma"),
        (lambda o: optim.StepLR(o, step_size=2, gamma="0.1"), TypeError, "gamma"),
        (lambda o: optim.ExponentialLR(o, gamma=-0.9), ValueError, "gamma"),
        (lambda o: optim.CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
        (lambda o: optim.CosineAnnealingLR(o, T_max=True), TypeError, "T_max"),
        (lambda o: optim.CosineAnnealingLR(o, T_max=10, eta_min=-1e-3), ValueError, "eta_min"),
        (lambda o: optim.StepLR("sgd", step_size=2), TypeError, "Optimizer"),
    ],
)
def test_bad_schedule_arguments(make, error, match):
    opt = optim.SGD([Value(1.0)], lr=0.1)
    with pytest.raises(error, match=match):
        make(opt)
    assert opt.lr == 0.1


@pytest.mark.parametrize(
    "name", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Rprop", "LevenbergMarquardt"]
)
def test_an_optimizer_refuses_a_non_leaf_value_as_torch_does(name):
    """Issue 20, item 16."""
    x = Value(1.0)
    product = x * 2  # made by an operation: backward overwrites its .grad, a step would be undone
    with pytest.raises(ValueError, match=r"parameter 1 .*not a leaf.*\*"):
        getattr(optim, name)([x, product], **({} if name == "LevenbergMarquardt" else {"lr": 0.1}))
    with pytest.raises(ValueError, match="can't optimize a non-leaf"):
        torch.optim.SGD([torch.ones(1, requires_grad=True) * 2], lr=0.1)
    assert x.data == 1.0 and product.data == 2.0
    getattr(optim, name)([x, product.detach()], **({} if name == "LevenbergMarquardt" else {"lr": 0.1}))
