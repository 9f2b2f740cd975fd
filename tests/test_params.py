"""One parameter protocol: every estimator-like class clones, lists and sets its parameters.

``get_params`` is derived from ``__init__``'s signature (scikit-learn's rule), so
``sklearn.base.clone`` gives an unfitted copy with the same settings for every class below, and
an unknown name is refused (or, for a class with ``**kwargs``, becomes a pass-through option).
"""

from __future__ import annotations

import inspect

import pytest

from embedlens.params import Params, param_names

sklearn_base = pytest.importorskip("sklearn.base")


def _estimators():
    from embedlens.audit.defenses import Defense, parse_defenses
    from interpret import EmbeddingMap, Explainer
    from inversion import (
        Alignment,
        BagOfWordsAttack,
        Corrector,
        GuidedInverter,
        Inverter,
        NearestNeighbourAttack,
        Vec2TextInverter,
    )
    from probes import INLP, LEACE, LinearProbe, LinearRegressionProbe

    return [
        (Inverter, {"embedder": "minilm", "prefix_tokens": 4, "finetune": "lora"}),
        (Corrector, {"decoder": "smollm2", "max_length": 16}),
        (Vec2TextInverter, {"decoder": "t5:t5-base", "prefix_tokens": 16}),
        (Explainer, {"tasks": ("topic",), "system_prompt": None, "prefix_tokens": 2}),
        (GuidedInverter, {"beam_width": 3, "edit_queries": 100}),
        (BagOfWordsAttack, {"vocab_size": 50, "threshold": 0.3}),
        (NearestNeighbourAttack, {"embedder": "minilm", "batch_size": 8}),
        (Alignment, {"method": "ridge", "alpha": 0.5}),
        (EmbeddingMap, {"method": "pca", "n_neighbors": 7}),
        (Defense, {"spec": parse_defenses("noise:0.1", dim=8)[0], "seed": 3}),
        (LinearProbe, {"C": 0.5}),
        (LinearRegressionProbe, {"alpha": 2.0}),
        (LEACE, {}),
        (INLP, {"n_iterations": 3}),
    ]


ESTIMATORS = _estimators()


@pytest.mark.parametrize("cls, kwargs", ESTIMATORS, ids=[c.__name__ for c, _ in ESTIMATORS])
def test_clone_keeps_every_parameter(cls, kwargs):
    est = cls(**kwargs)
    copy = sklearn_base.clone(est)
    assert type(copy) is cls and copy is not est
    params = est.get_params(deep=False)
    assert copy.get_params(deep=False).keys() == params.keys()
    for name, value in kwargs.items():
        assert params[name] == value, name
        assert copy.get_params(deep=False)[name] == value, name
    signature = inspect.signature(cls.__init__).parameters
    var = inspect.Parameter.VAR_KEYWORD
    named = [p for p in signature if p != "self" and signature[p].kind is not var]
    assert set(named) <= set(params)


@pytest.mark.parametrize("cls, kwargs", ESTIMATORS, ids=[c.__name__ for c, _ in ESTIMATORS])
def test_set_params_sets_and_unknown_names_are_refused(cls, kwargs):
    est = cls(**kwargs)
    name = next(iter(est.get_params(deep=False)))
    value = est.get_params(deep=False)[name]
    assert est.set_params(**{name: value}) is est
    takes_kwargs = any(
        p.kind is p.VAR_KEYWORD for p in inspect.signature(cls.__init__).parameters.values()
    )
    if takes_kwargs:  # EmbeddingMap passes unknown names to its layout method
        est.set_params(no_such_parameter=1)
        assert est.get_params()["no_such_parameter"] == 1
    else:
        with pytest.raises(ValueError, match="no_such_parameter"):
            est.set_params(no_such_parameter=1)


def test_embedlens_estimators_share_the_one_protocol():
    ours = [cls for cls, _ in ESTIMATORS if not cls.__module__.startswith("probes")]
    assert all(issubclass(cls, Params) for cls in ours)
    for cls in ours:
        assert "get_params" not in vars(cls) and "set_params" not in vars(cls), cls


def test_params_reads_the_signature_and_reaches_nested_parameters():
    class Inner(Params):
        def __init__(self, k: int = 1) -> None:
            self.k = k

    class Outer(Params):
        def __init__(self, inner: Inner | None = None, *, scale: float = 1.0) -> None:
            self.inner = inner
            self.scale = scale

    assert param_names(Outer) == ("inner", "scale")
    outer = Outer(Inner(2))
    assert outer.get_params()["inner__k"] == 2
    assert "inner__k" not in outer.get_params(deep=False)
    outer.set_params(inner__k=5, scale=0.5)
    assert outer.inner.k == 5 and outer.scale == 0.5
    with pytest.raises(ValueError, match="valid are"):
        outer.set_params(k=3)

    class Positional(Params):
        def __init__(self, *values: int) -> None:
            self.values = values

    with pytest.raises(TypeError, match="must be named"):
        Positional(1).get_params()
