"""Reference AdamW trajectory for tests/optim_test.cpp, from torch.optim.AdamW (torch 1.13, CPU).

Two parameter groups with different lr, betas, eps and weight decay; parameter `c` gets no
gradient at step 2 (skipped, its own step counter lags) and `d` never gets one (left untouched).
Gradients are a fixed formula of the current values so the C++ test can rebuild them without a
loss: g = (p - 0.5) * (1 + 0.1 * t) + 0.01 * (k + 1), k the flat index, t the step index.

Run with /usr/bin/python3; prints C++ constants that the test embeds (Python is not needed at
test time).
"""
import torch

torch.set_default_dtype(torch.float64)
a = torch.tensor([0.1 * k - 0.3 for k in range(6)]).reshape(2, 3).requires_grad_()
b = torch.tensor([1.0, -2.0, 0.5, 3.0]).requires_grad_()
c = torch.tensor([0.25, -0.75, 1.5]).requires_grad_()
d = torch.tensor([7.0, 8.0]).requires_grad_()
opt = torch.optim.AdamW(
    [
        dict(params=[a, b], lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1),
        dict(params=[c, d], lr=0.2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.02),
    ],
    foreach=False,
)
steps = 5
rows = []
for t in range(steps):
    for p in (a, b, c):
        k = torch.arange(p.numel()).reshape(p.shape)
        p.grad = (p.detach() - 0.5) * (1 + 0.1 * t) + 0.01 * (k + 1)
    if t == 2:
        c.grad = None
    opt.step()
    rows.append(torch.cat([a.detach().flatten(), b.detach().flatten(), c.detach().flatten()]))


def fmt(values):
    return ", ".join("%.17g" % v for v in values)


print("// %d steps; each row: a (6), b (4), c (3) after the step" % steps)
print("const double kAdamWTrajectory[%d][13] = {" % steps)
for r in rows:
    print("    {%s}," % fmt(r.tolist()))
print("};")
st = opt.state[c]
print("const double kCExpAvg[3] = {%s};" % fmt(st["exp_avg"].tolist()))
print("const double kCExpAvgSq[3] = {%s};" % fmt(st["exp_avg_sq"].tolist()))
print("const int64_t kCStep = %d;" % int(st["step"].item()))
