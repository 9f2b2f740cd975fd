"""Clusters, the labeler protocol and class-based TF-IDF names."""

from __future__ import annotations

import numpy as np
import pytest

from interpret.maps import ClusterContext, ClusterLabeler, KeywordLabeler


def test_kmeans_recovers_the_blobs_and_names_them_by_keywords(pca_map, blobs):
    _, _, labels = blobs
    c = pca_map.cluster("kmeans", n_clusters=3, random_state=0)
    assert sorted(c.sizes.values()) == [30, 30, 30]
    # each cluster is one topic, and its name says which
    words = {"cats": "cat", "stocks": "stock", "weather": "rain"}
    for cid, name in c.names.items():
        topics = {labels[i] for i in np.flatnonzero(c.labels == cid)}
        assert len(topics) == 1
        (topic,) = topics
        vocab = set(name.split(", "))
        assert vocab <= set(
            {
                "cats": ["cat", "kitten", "purr", "whiskers", "meow"],
                "stocks": ["stock", "market", "shares", "investor", "dividend"],
                "weather": ["rain", "storm", "forecast", "cloud", "thunder"],
            }[topic]
        ), (name, topic, words)
        assert len(vocab) == 3
    summary = c.summary()
    assert list(summary.columns) == ["cluster", "size", "name"] and len(summary) == 3


def test_hdbscan_marks_noise_and_draws_names_at_centres(pca_map):
    X = pca_map.vectors_
    c = pca_map.cluster("hdbscan", min_cluster_size=10, space="original")
    assert c.space == "original" and c.method == "hdbscan"
    assert len(c.names) == 3
    fig = pca_map.figure(color="cluster")
    notes = fig.layout.annotations
    assert len(notes) == 3
    for note in notes:
        cid = next(k for k, v in c.names.items() if v == note.text)
        members = pca_map.embedding_[c.labels == cid]
        np.testing.assert_allclose([note.x, note.y], np.median(members, axis=0), atol=1e-5)
    names = [t.name for t in fig.data]
    assert all(": " in n for n in names if not n.startswith("noise"))
    if (c.labels < 0).any():
        noise = next(t for t in fig.data if t.name.startswith("noise"))
        assert noise.marker.color == "#b4b4b4"
    assert X.shape[0] == len(c.labels)
    df = pca_map.frame()
    assert {"cluster", "cluster_name"} <= set(df.columns)
    hover = [h for t in fig.data for h in t.hovertext]
    assert any("cluster: " in h for h in hover)
    assert not pca_map.figure(show_cluster_names=False).layout.annotations


def test_class_tfidf_against_a_hand_computed_example():
    # cluster 0: "apple apple pear", cluster 1: "pear plum"
    ctx = ClusterContext(
        [0, 1],
        [np.array([0, 1]), np.array([2])],
        ["apple apple", "pear", "pear plum"],
        np.zeros((2, 2)),
    )
    labeler = KeywordLabeler(n_words=2, stop_words=None)
    names = labeler(ctx)
    # counts: c0 {apple 2, pear 1}, c1 {pear 1, plum 1}; A = mean words per cluster = 2.5
    # idf: apple log(1+2.5/2), pear log(1+2.5/2), plum log(1+2.5/1)
    # c0: apple 2/3*log(2.25) > pear 1/3*log(2.25); c1: plum 1/2*log(3.5) > pear 1/2*log(2.25)
    assert names == ["apple, pear", "plum, pear"]
    assert labeler.keywords_ == {0: ["apple", "pear"], 1: ["plum", "pear"]}


def test_labeler_without_texts_or_words_falls_back():
    ctx = ClusterContext([4], [np.array([0])], None, np.zeros((1, 2)))
    assert KeywordLabeler()(ctx) == ["cluster 4"]
    only_stop = ClusterContext([1], [np.array([0])], ["the and of"], np.zeros((1, 2)))
    assert KeywordLabeler()(only_stop) == ["cluster 1"]


def test_a_centroid_decoder_plugs_in(pca_map, blobs):
    """A labeler sees members, texts and centroids in the original space (unit vectors)."""
    X, _, _ = blobs
    seen: list[ClusterContext] = []

    class CentroidDecoder:
        def __call__(self, context: ClusterContext) -> list[str]:
            seen.append(context)
            return [f"decoded {c.shape}" for c in context.centroids]

    decoder = CentroidDecoder()
    assert isinstance(decoder, ClusterLabeler)
    c = pca_map.cluster("kmeans", n_clusters=3, random_state=0, labeler=decoder)
    ctx = seen[0]
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    for j, members in enumerate(ctx.members):
        np.testing.assert_allclose(ctx.centroids[j], unit[members].mean(axis=0), atol=1e-5)
    assert ctx.texts is pca_map.points_.texts
    assert set(c.names.values()) == {"decoded (24,)"}
    assert ctx.member_texts(0, limit=2) == [
        ctx.texts[ctx.members[0][0]],
        ctx.texts[ctx.members[0][-1]],
    ]


def test_labeler_must_be_callable(pca_map):
    with pytest.raises(TypeError, match="labeler must be callable"):
        pca_map.cluster("kmeans", n_clusters=2, labeler="keywords")  # type: ignore[arg-type]
