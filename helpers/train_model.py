"""`python -m helpers.train_model --settings_path … --results_path …`: runs the training command
(`helpers.train_command`). For the training *function* of lecture 05, import `train_model` from `helpers.training`."""
import sys

from helpers.train_command import train_command

if __name__ == '__main__': sys.exit(train_command())
