"""Two detection lists equal up to the order of tied scores."""
import numpy as np


def assert_same_detections(got, expected, where, box_rtol=1e-4,
                           score_atol=1e-5, score_rtol=1e-4):
    """``got`` and ``expected`` are ``(labels, boxes, scores)`` arrays.

    Random-weight heads give many near-equal scores: two whose scores agree
    to ~1e-7 may swap places between two equal computations (another CPU,
    another runtime). Each got detection is matched one-to-one to an
    expected one with the same label, a box within ``box_rtol`` of the
    largest coordinate and a score within tolerance; the scores, sorted,
    must agree too.
    """
    labels, boxes, scores = (np.asarray(a) for a in expected)
    got_labels, got_boxes, got_scores = (np.asarray(a) for a in got)
    assert len(got_labels) == len(labels), (where, len(got_labels),
                                            len(labels))
    np.testing.assert_allclose(np.sort(got_scores), np.sort(scores),
                               atol=score_atol, rtol=score_rtol,
                               err_msg=str(where))
    box_tol = box_rtol * max(np.abs(boxes).max(initial=0), 1.0)
    free = np.ones(len(labels), dtype=bool)
    for label, box, score in zip(got_labels, got_boxes, got_scores):
        match = (free & (labels == label)
                 & (np.abs(boxes - box).max(1, initial=0) <= box_tol)
                 & (np.abs(scores - score)
                    <= score_atol + score_rtol * abs(score)))
        assert match.any(), (where, label, box, score)
        free[np.flatnonzero(match)[0]] = False
