# Reference values for tests/core/training/trainer_settings_test.cc (ExtraOptimizerTest):
# five steps of torch.optim.Adamax, NAdam (with torch 2.0's mu_product_next correction applied to
# 1.13's code) and Adadelta, and torch_optimizer's Lamb transcribed, on the same loss.
# Run with a python that has torch: /usr/bin/python3 tests/core/training/optimizer_reference.py
import torch, inspect, math
import torch.optim.nadam as nadam_mod
torch.set_default_dtype(torch.float64)
coeffs = torch.tensor([0.5, -1.0, 2.0, 0.25, -3.0])
def run(make, steps=5):
    p = torch.tensor([0.3, -0.7, 1.1, 0.0, 2.5], requires_grad=True)
    opt = make([p])
    for _ in range(steps):
        opt.zero_grad()
        loss = ((p * coeffs - 1.0) ** 2).sum()
        loss.backward()
        opt.step()
    return p.detach().tolist()
# NAdam with torch 2.0's mu_product_next fix applied to 1.13's own code.
src = inspect.getsource(nadam_mod._single_tensor_nadam).replace("mu_product * mu * mu_next", "mu_product * mu_next")
ns = dict(nadam_mod.__dict__); exec(src, ns); nadam_mod._single_tensor_nadam = ns["_single_tensor_nadam"]
class Lamb(torch.optim.Optimizer):
    # torch_optimizer.Lamb (debias as Ludwig's bias_correction, adam=False, clamp_value=10)
    def __init__(self, params, lr, betas, eps, weight_decay, debias):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, debias=debias))
    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g["params"]:
                grad = p.grad
                st = self.state[p]
                if not st:
                    st["step"] = 0; st["exp_avg"] = torch.zeros_like(p); st["exp_avg_sq"] = torch.zeros_like(p)
                b1, b2 = g["betas"]; st["step"] += 1
                st["exp_avg"].mul_(b1).add_(grad, alpha=1 - b1)
                st["exp_avg_sq"].mul_(b2).addcmul_(grad, grad, value=1 - b2)
                step_size = g["lr"]
                if g["debias"]:
                    bc = math.sqrt(1 - b2 ** st["step"]) / (1 - b1 ** st["step"])
                    step_size *= bc
                weight_norm = torch.norm(p.data).clamp(0, 10)
                adam_step = st["exp_avg"] / st["exp_avg_sq"].sqrt().add(g["eps"])
                if g["weight_decay"] != 0:
                    adam_step.add_(p.data, alpha=g["weight_decay"])
                adam_norm = torch.norm(adam_step)
                trust = 1 if weight_norm == 0 or adam_norm == 0 else weight_norm / adam_norm
                p.data.add_(adam_step, alpha=-step_size * trust)
print("adamax", run(lambda ps: torch.optim.Adamax(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.1)))
print("nadam", run(lambda ps: torch.optim.NAdam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.1, momentum_decay=4e-3)))
print("adadelta", run(lambda ps: torch.optim.Adadelta(ps, lr=0.5, rho=0.8, eps=1e-6, weight_decay=0.1)))
print("lamb", run(lambda ps: Lamb(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.1, debias=True)))
print("lamb_nodebias", run(lambda ps: Lamb(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.1, debias=False)))
