"Lecture 05, exercise: an image file as a float tensor."
import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2


def image_to_tensor(path) -> torch.Tensor:
    "The image at `path` as float32 C×H×W in [0, 1]: transforms.v2's ToImage, then ToDtype with scaling."
    with Image.open(path) as im: return v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])(im)


# Wrong answers the check must refuse (tests/test_exercises.py).
def _unscaled(path):
    with Image.open(path) as im: return torch.from_numpy(np.array(im)).float()  # H×W(×C), 0..255


def _grey_only(path):
    with Image.open(path) as im: return torch.from_numpy(np.array(im.convert('L'))).float()[None] / 255


WRONG = {'image_to_tensor': [_unscaled, _grey_only]}
