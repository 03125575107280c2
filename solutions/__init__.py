"""Reference solutions of the lectures' self-checking exercises (`solutions/ex_NN.py`), and in each a `WRONG` dict of
answers its checks must refuse; the tests run the checks on both."""
