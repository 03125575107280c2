"Reference solutions of lecture 08's self-checking exercise."
import torch


def adagrad_step(p, d, state, hp):
    "Adagrad: s ← s + d² (s starts at 0), then p ← p − lr·d/(√s + ε)."
    if 'sum' not in state: state['sum'] = torch.zeros_like(p)
    s = state['sum'].addcmul_(d, d)
    p.addcdiv_(d, s.sqrt().add_(hp['eps']), value=-hp['lr'])
    return d


# Wrong answers the check must refuse (tests/test_exercises.py).
WRONG = {'adagrad_step': [lambda p, d, state, hp: p.add_(d, alpha=-hp['lr']),                                  # plain SGD
                          lambda p, d, state, hp: p.addcdiv_(d, (d * d).sqrt().add_(hp['eps']), value=-hp['lr'])]}  # no memory
