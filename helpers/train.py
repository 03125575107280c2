"""`python -m helpers.train --settings_path … --results_path …`: runs the training command (`helpers.train_command`)."""
import sys

from helpers.train_command import train_command

if __name__ == '__main__': sys.exit(train_command())
