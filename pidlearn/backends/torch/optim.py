"""Adam for the infomorphic layers, without ``torch.optim``.

``torch.optim.Optimizer`` imports ``torch._dynamo`` (with sympy and mpmath: ~830 modules) the first time a parameter
group is added, which adds ~72 MB of resident memory and ~1 s to the first step of every process — as much as the
whole 100-neuron network's training needs. The infomorphic trainers (supervised, unsupervised, associative memory)
only need plain Adam with L2 weight decay, so they use :class:`Adam` here: the update of Kingma & Ba (2015),
evaluated with the same operations in the same order as ``torch.optim.Adam(foreach=False)`` on CPU, so that both give
the same parameters bit for bit (a test checks it), and whose ``state_dict`` has ``torch.optim.Adam``'s layout, so
that checkpoints written by either load in the other. MOLE and the backprop baselines, which use learning-rate
schedulers, keep ``torch.optim``.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

__all__ = ["Adam"]


class Adam:
    r"""Adam with L2 weight decay (Kingma & Ba 2015), for one group of parameters.

    With gradient :math:`g_t` (plus :math:`\lambda\theta_{t-1}` when ``weight_decay`` = λ > 0),

    .. math::

        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\qquad
        \theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\,\frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}.

    Parameters
    ----------
    params : iterable of torch.nn.Parameter
        The parameters to update (one group).
    lr : float, default 1e-3
        Learning rate η.
    betas : tuple of float, default (0.9, 0.999)
        Decay rates β₁, β₂ of the first and second moment estimates.
    eps : float, default 1e-8
        ε added to the root of the second moment.
    weight_decay : float, default 0.0
        L2 penalty λ added to the gradient (not decoupled).

    Attributes
    ----------
    param_groups : list of dict
        One group, as in ``torch.optim``: ``params``, ``lr``, ``betas``, ``eps``, ``weight_decay``.
    state : dict
        Per parameter: ``step`` (a float32 scalar tensor), ``exp_avg`` (m), ``exp_avg_sq`` (v).

    Notes
    -----
    Callers validate the hyper-parameters (``pidlearn.backends._settings.check_learning_rate`` /
    ``check_weight_decay``) before they get here.
    """

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        params = list(params)
        if not params:
            raise ValueError("Adam got no parameters to optimise: pass the parameters of a module with weights")
        self.param_groups = [
            {"params": params, "lr": float(lr), "betas": tuple(betas), "eps": float(eps),
             "weight_decay": float(weight_decay)}
        ]  # fmt: skip
        self.state: dict[torch.nn.Parameter, dict] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (set to ``None``, or to zero with ``set_to_none=False``)."""
        for p in self.param_groups[0]["params"]:
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.detach_().zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One Adam update of every parameter that has a gradient."""
        group = self.param_groups[0]
        lr, (beta1, beta2), eps, decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        for p in group["params"]:
            if p.grad is None:
                continue
            grad = p.grad if decay == 0 else p.grad.add(p, alpha=decay)
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = {
                    "step": torch.tensor(0.0),
                    "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                    "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
                }
            state["step"] += 1
            step = state["step"].item()
            state["exp_avg"].lerp_(grad, 1 - beta1)
            state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            bias_correction1 = 1 - beta1**step
            bias_correction2_sqrt = (1 - beta2**step) ** 0.5
            denom = (state["exp_avg_sq"].sqrt() / bias_correction2_sqrt).add_(eps)
            p.addcdiv_(state["exp_avg"], denom, value=-lr / bias_correction1)

    def state_dict(self) -> dict:
        """Moments and settings in ``torch.optim.Adam``'s layout (parameters by position)."""
        group = self.param_groups[0]
        index = {p: i for i, p in enumerate(group["params"])}
        return {
            "state": {index[p]: {k: v.clone() for k, v in s.items()} for p, s in self.state.items()},
            "param_groups": [{**{k: v for k, v in group.items() if k != "params"},
                              "params": list(range(len(group["params"])))}],
        }  # fmt: skip

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` (or ``torch.optim.Adam.state_dict`` of the same parameters) returned."""
        params = self.param_groups[0]["params"]
        try:
            groups, saved = state_dict["param_groups"], state_dict["state"]
            (group,) = groups
            if len(group["params"]) != len(params):
                raise ValueError(f"it holds {len(group['params'])} parameters, this optimiser has {len(params)}")
            position = {int(i): k for k, i in enumerate(group["params"])}
            state = {}
            for i, s in saved.items():
                p = params[position[int(i)]]
                moments = {k: torch.as_tensor(s[k]).to(p.dtype, copy=True) for k in ("exp_avg", "exp_avg_sq")}
                if any(m.shape != p.shape for m in moments.values()):
                    raise ValueError("a saved moment's shape differs from its parameter's")
                state[p] = {"step": torch.as_tensor(s["step"], dtype=torch.float32).clone(), **moments}
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(
                f"the optimiser state does not fit this network ({err}); load a checkpoint written by the same "
                "network shape"
            ) from None
        self.state = state
        self.param_groups[0].update(
            {k: (tuple(v) if k == "betas" else float(v)) for k, v in group.items()
             if k in ("lr", "betas", "eps", "weight_decay")}
        )  # fmt: skip
