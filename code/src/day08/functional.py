"""Softmax and cross-entropy written from scratch, batched, on torch tensors.

Introduced in the chapters "Softmax" (``book/softmax.md``) and "Cross-entropy" (``book/cross-entropy.md``).
These are the reference implementations the chapter's checks and ``tests/`` compare against
``torch.softmax`` and ``torch.nn.functional.cross_entropy``. Scores are the raw outputs of a
model ("logits"): shape (k,) for one example or (N, k) for a batch of N examples and k
classes; labels are class indices in 0..k-1.
"""

from __future__ import annotations

import torch

from ._checks import as_labels, as_scores

__all__ = [
    "sigmoid",
    "logsumexp",
    "softmax",
    "naive_softmax",
    "log_softmax",
    "cross_entropy",
    "cross_entropy_grad",
    "binary_log_loss",
    "binary_log_loss_with_logits",
]


def sigmoid(s):
    """Logistic sigmoid 1 / (1 + e^(-s)), the binary model's link (chapter "Softmax")."""
    s = torch.as_tensor(s)
    s = s if s.is_floating_point() else s.to(torch.get_default_dtype())
    return 1 / (1 + torch.exp(-s))


def logsumexp(scores) -> torch.Tensor:
    """log(sum_j e^(s_j)) along the last axis, computed without overflow.

    Subtracting the largest score m first keeps every exponent <= 0:
    log sum_j e^(s_j) = m + log sum_j e^(s_j - m). (Page "Going further: cross-entropy in practice".)
    """
    scores = as_scores(scores)
    m = scores.max(dim=-1, keepdim=True).values
    return (m + torch.log(torch.exp(scores - m).sum(dim=-1, keepdim=True))).squeeze(-1)


def naive_softmax(scores) -> torch.Tensor:
    """e^(s_i) / sum_j e^(s_j) exactly as printed: overflows for scores above about 88 (float32).

    Kept only to show the failure in the chapter "Softmax"; use :func:`softmax`.
    """
    scores = as_scores(scores)
    e = torch.exp(scores)
    return e / e.sum(dim=-1, keepdim=True)


def softmax(scores) -> torch.Tensor:
    """Probabilities p(y = i) = e^(s_i) / sum_j e^(s_j) along the last axis, overflow-safe.

    Subtracting the largest score first changes nothing mathematically and keeps every
    exponent <= 0. Chapter "Softmax". Same result as
    ``torch.softmax(scores, dim=-1)``.
    """
    scores = as_scores(scores)
    e = torch.exp(scores - scores.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)


def log_softmax(scores) -> torch.Tensor:
    """log p(y = i) = s_i - logsumexp(s), along the last axis (what :func:`cross_entropy` uses).

    Computed as (s_i - m) - log sum_j e^(s_j - m), with m the largest score, so that huge
    scores lose no precision.
    """
    scores = as_scores(scores)
    shifted = scores - scores.max(dim=-1, keepdim=True).values
    return shifted - torch.log(torch.exp(shifted).sum(dim=-1, keepdim=True))


def _batch(scores, labels):
    scores = as_scores(scores)
    single = scores.dim() == 1
    if single:
        scores = scores.unsqueeze(0)
        if not isinstance(labels, torch.Tensor):
            labels = torch.as_tensor(labels)
        labels = labels.reshape(1) if labels.dim() == 0 else labels
    labels = as_labels(labels, scores.shape[0], scores.shape[1])
    return scores, labels, single


def cross_entropy(scores, labels, reduction: str = "mean", label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy ce(y_hat, y) = -sum_i 1[y = i] log y_hat_i = -log y_hat_y, from raw scores.

    Chapter "Cross-entropy". Matches ``torch.nn.functional.cross_entropy`` with the
    same ``reduction`` ("mean", "sum" or "none") and ``label_smoothing`` (the target becomes
    (1 - eps) * onehot + eps / k).
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0 and 1, got {label_smoothing}")
    scores, labels, single = _batch(scores, labels)
    logp = log_softmax(scores)
    nll = -logp.gather(1, labels.unsqueeze(1)).squeeze(1)
    if label_smoothing:
        nll = (1 - label_smoothing) * nll - label_smoothing * logp.mean(dim=1)
    if reduction == "mean":
        return nll.mean()
    if reduction == "sum":
        return nll.sum()
    return nll[0] if single else nll


def cross_entropy_grad(scores, labels) -> torch.Tensor:
    """The gradient of the mean cross-entropy with respect to the scores: (y_hat - onehot(y)) / N.

    Derived on the page "Going further: cross-entropy in practice", which writes it out and checks
    it against ``torch.autograd``; ``tests/test_functional.py`` checks this function the same way.
    """
    scores, labels, single = _batch(scores, labels)
    onehot = torch.nn.functional.one_hot(labels, scores.shape[1]).to(scores.dtype)
    grad = (softmax(scores) - onehot) / scores.shape[0]
    return grad[0] if single else grad


def binary_log_loss(p_hat, y) -> torch.Tensor:
    """Binary log loss l(p_hat, y) = -y log p_hat - (1 - y) log(1 - p_hat), elementwise.

    ``p_hat`` is the predicted probability that the label is 1 and ``y`` is 0 or 1
    (chapter "Cross-entropy"). The products use ``torch.xlogy`` (x log y, defined as 0 when
    x = 0), so a probability of exactly 0 or 1 gives a finite loss when the label agrees
    (``0 * log 0`` counts as 0, as in ``torch.nn.functional.binary_cross_entropy``) and
    ``inf`` when it does not. For a model that outputs a score, prefer
    :func:`binary_log_loss_with_logits`, which never forms 1 - p_hat.
    """
    p_hat = torch.as_tensor(p_hat)
    p_hat = p_hat if p_hat.is_floating_point() else p_hat.to(torch.get_default_dtype())
    y = torch.as_tensor(y).to(p_hat.dtype)
    if ((p_hat < 0) | (p_hat > 1)).any():
        raise ValueError("p_hat must be a probability in [0, 1]")
    if ((y != 0) & (y != 1)).any():
        raise ValueError("y must be 0 or 1 for the binary log loss")
    return -torch.xlogy(y, p_hat) - torch.xlogy(1 - y, 1 - p_hat)


def binary_log_loss_with_logits(s, y) -> torch.Tensor:
    """The binary log loss from the score s, where p_hat = sigmoid(s), elementwise.

    -y log sigmoid(s) - (1 - y) log(1 - sigmoid(s)) = softplus(s) - y s, with
    softplus(s) = log(e^0 + e^s) computed by ``torch.logaddexp``, which never overflows (unlike
    ``F.softplus``, it does not switch to the approximation s for s above a threshold). Same result as
    ``torch.nn.functional.binary_cross_entropy_with_logits(s, y, reduction="none")``
    (chapter "Cross-entropy").
    """
    s = torch.as_tensor(s)
    s = s if s.is_floating_point() else s.to(torch.get_default_dtype())
    y = torch.as_tensor(y).to(s.dtype)
    if torch.isnan(s).any():
        raise ValueError("s contains NaN: check the model's inputs and learning rate")
    if ((y != 0) & (y != 1)).any():
        raise ValueError("y must be 0 or 1 for the binary log loss")
    softplus = torch.logaddexp(torch.zeros_like(s), s)  # log(e^0 + e^s), exact for every s
    return softplus - y * s
