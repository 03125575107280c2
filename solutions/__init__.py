"Reference solutions of the lectures' self-checking exercises (`solutions/ex_NN.py`); the tests run the checks on them."
