"""bench/recipe.py's greedy search on validation: keeps a better value, keeps the current one on a tie, seeds a second
run of the chosen recipe and the first guess, and continues an interrupted search from its record (no run twice)."""
import json
import bench.recipe as rs


def test_greedy_search_with_ties_and_resume(tmp_path, monkeypatch):
    gain = {('lr_max', 2e-2): 1.0, ('lr_max', 5e-3): -1.0, ('epochs', 5): -1.0, ('flip', 0.0): 0.0}  # no flips: a tie
    trained = []
    def fake(recipe, seed, data):
        trained.append((json.dumps(recipe), seed))
        acc = 90 + sum(gain[k, v] for k, v in recipe.items() if v != rs.START[k]) + seed / 10
        return {'recipe': recipe, 'seed': seed, 'valid_acc': acc, 'seconds': 1.0}
    monkeypatch.setattr(rs, 'train_on_validation', fake)
    monkeypatch.setattr(rs, 'get_data', lambda *a, **k: None)
    monkeypatch.setattr(rs, 'STEPS', [('flip', [0.0]), ('lr_max', [5e-3, 2e-2]), ('epochs', [5])])
    result = rs.search(tmp_path/'r.json')
    assert result['chosen'] == {**rs.START, 'lr_max': 2e-2}  # the tie kept flips; the better rate won; 5 epochs lost
    assert len(trained) == 1 + 1 + 2 + 1 + 2 and sorted(r['seed'] for r in result['runs'])[-2:] == [1, 1]
    trained.clear()
    assert rs.search(tmp_path/'r.json') == result and trained == []  # the record answers every run
    rs.write_markdown(result, tmp_path/'r.md')
    assert f"Chosen: `{json.dumps(result['chosen'])}`" in (tmp_path/'r.md').read_text()
