"Lecture 00: small tests, course settings, quick mode and budgets."
import pytest, torch, numpy as np
from exp import nb_00
from exp.nb_00 import equals, near, repo_root, course_settings, env_flag, quick_mode, budget, SETTINGS_KEYS
# used as nb_00.test*: imported bare, pytest would collect them as tests


def test_test_eq_and_near():
    nb_00.test_eq([1, 2], [1, 2]); nb_00.test_eq(torch.arange(3), torch.arange(3)); nb_00.test_eq(np.ones(2), np.ones(2))
    nb_00.test_near(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0 + 1e-5]))
    with pytest.raises(AssertionError, match=r'==:\ntensor\(\[1, 2\]\)'): nb_00.test_eq(torch.tensor([1, 2]), torch.tensor([1, 3]))
    with pytest.raises(AssertionError, match='near'): nb_00.test_near(torch.tensor(1.0), torch.tensor(1.1))
    with pytest.raises(AssertionError, match='custom'): nb_00.test(1, 2, lambda a, b: a > b, 'custom')


def test_equals_and_near_shapes():
    assert not equals(torch.ones(2), torch.ones(3))
    assert not equals(np.ones(2), np.ones((2, 1)))
    assert not near(torch.ones(2), torch.ones(1, 2))
    assert near(0.1 + 0.2, 0.3) and not near(1.0, 1.01)


def test_repo_root_and_settings(tmp_path):
    root = repo_root()
    assert (root/'settings.ini').is_file() and (root/'nbs').is_dir()
    s = course_settings()
    assert s['course']['dataset'] == 'embedded' and isinstance(s['quick']['epochs'], int)
    (tmp_path/'sub').mkdir()
    (tmp_path/'settings.ini').write_text(FULL + "size = 12\nneg = -2\nodd = --2\n")
    s = course_settings(tmp_path/'sub')
    assert s['course'] == {'repo_user': 'u', 'repo_name': 'r', 'branch': 'b', 'data_dir': 'd', 'dataset': 'embedded'}
    assert s['quick'] == {'epochs': 3, 'train_size': 10, 'valid_size': 5, 'size': 12, 'neg': -2, 'odd': '--2'}
    assert course_settings(tmp_path/'settings.ini') == s  # the file itself, not only a folder


FULL = ("[course]\nrepo_user = u\nrepo_name = r\nbranch = b\ndata_dir = d\ndataset = embedded\n"
        "[data]\ndigits_png = p\nregression_csv = r.csv\n[quick]\nepochs = 3\ntrain_size = 10\nvalid_size = 5\n")


def test_settings_errors(tmp_path):
    fn = tmp_path/'settings.ini'
    fn.write_text("[course]\nx = 1\n")
    with pytest.raises(KeyError, match=r'settings.ini \[course\] lacks repo_user, repo_name, branch, data_dir, dataset'):
        course_settings(tmp_path)
    fn.write_text(FULL.replace("[quick]\n", "[other]\n"))
    with pytest.raises(KeyError, match=r'\[quick\] lacks epochs, train_size, valid_size'): course_settings(tmp_path)
    for bad in ('two', '0', '-1', '2.5'):
        fn.write_text(FULL.replace('epochs = 3', f'epochs = {bad}'))
        with pytest.raises(ValueError, match=rf"settings.ini \[quick\] epochs = '?{bad}'?: expected a whole number >= 1"):
            course_settings(tmp_path)
    with pytest.raises(FileNotFoundError, match=r'typo.ini: no such settings file'): course_settings(tmp_path/'typo.ini')
    assert set(SETTINGS_KEYS) == {'course', 'data', 'quick'}
    (tmp_path/'settings.ini').write_text("no section header\n")
    with pytest.raises(ValueError, match='not a valid settings file'): course_settings(tmp_path)
    with pytest.raises(FileNotFoundError, match='No settings.ini'): repo_root(tmp_path/'..'/'..')


def test_quick_mode_and_budget(monkeypatch):
    q = course_settings()['quick']
    monkeypatch.setenv('DLF_QUICK', '1')
    assert quick_mode() and budget(100) == q['epochs'] and budget(1) == 1
    assert budget(10**6, 'train_size') == q['train_size']
    with pytest.raises(KeyError, match='has no'): budget(5, 'nonsense')
    monkeypatch.setenv('DLF_QUICK', '0')
    assert not quick_mode() and budget(100) == 100
    monkeypatch.setenv('DLF_QUICK', 'maybe')
    with pytest.raises(ValueError, match='DLF_QUICK'): quick_mode()


@pytest.mark.parametrize('value,on', [('1', True), ('yes', True), (' On ', True), ('0', False), ('false', False), ('', False), (None, False)])
def test_env_flag(monkeypatch, value, on):
    if value is None: monkeypatch.delenv('DLF_SOME_FLAG', raising=False)
    else: monkeypatch.setenv('DLF_SOME_FLAG', value)
    assert env_flag('DLF_SOME_FLAG') is on


def test_env_flag_refuses_what_it_does_not_understand(monkeypatch):
    monkeypatch.setenv('DLF_SOME_FLAG', 'flase')
    with pytest.raises(ValueError, match=r"DLF_SOME_FLAG='flase' is not understood; use 1 \(on\) or 0 \(off\)"): env_flag('DLF_SOME_FLAG')
