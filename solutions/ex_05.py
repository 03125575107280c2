"Lecture 05, exercise: an image file as a float tensor."
import torch
from PIL import Image
from torchvision.transforms import v2


def image_to_tensor(path) -> torch.Tensor:
    "The image at `path` as float32 C×H×W in [0, 1]: transforms.v2's ToImage, then ToDtype with scaling."
    with Image.open(path) as im: return v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])(im)
