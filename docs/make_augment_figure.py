"""Write docs/augment.png: what each gpuresample.augment transform does to an image and
its label map (the middle axial slice, labels overlaid), for the README.

    python docs/make_augment_figure.py          # needs matplotlib: pip install -e ".[docs]"
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import gpuresample.augment as ga
from gpuresample.phantom import phantom


def sample(n: int = 96) -> dict:
    """The phantom with a grid texture (so deformations show) and a label map of its parts."""
    image = np.asarray(phantom((n, n, n)).to("cpu")._array, dtype=np.float32)
    z, y, x = np.meshgrid(*[np.arange(n)] * 3, indexing="ij")
    texture = 0.15 * (((x // 8) + (y // 8)) % 2)
    label = np.digitize(image, [0.15, 0.25, 0.35]).astype(np.uint8)
    return {"image": (image + texture * (image > 0.1))[None], "label": label[None]}


PANELS = [
    ("original", None),
    ("RandomFlip", ga.RandomFlip(axes=(0, 1), flip_probability=1.0)),
    ("RandomAffine", ga.RandomAffine(degrees=25, scales=0.2, shear=0.1, translation=5)),
    ("RandomElastic (B-spline)", ga.RandomElastic(num_control_points=7,
                                                  max_displacement=8.0)),
    ("RandomElastic (field)", ga.RandomElastic(mode="field", sigma=5.0, magnitude=6.0)),
    ("RandomAnisotropy", ga.RandomAnisotropy(axes=1, downsampling=5.0)),
    ("Compose", ga.Compose([ga.RandomFlip(axes=0), ga.RandomAffine(degrees=20, scales=0.15),
                            ga.RandomElastic(max_displacement=6.0)])),
]


def main(out: str = str(Path(__file__).with_name("augment.png"))) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    s = sample()
    colours = ListedColormap([(0, 0, 0, 0), (0.1, 0.6, 1, 0.45), (1, 0.5, 0.1, 0.5),
                              (0.9, 0.1, 0.5, 0.6)])
    fig, axes = plt.subplots(2, 4, figsize=(9.6, 5.2))
    for ax, (title, transform) in zip(axes.ravel(), PANELS):
        out_s = s if transform is None else transform.reseed(3)(s, device="cpu")
        k = out_s["image"].shape[1] // 2
        ax.imshow(out_s["image"][0, k], cmap="gray", vmin=0, vmax=1.2)
        ax.imshow(out_s["label"][0, k], cmap=colours, vmin=0, vmax=3, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    axes.ravel()[-1].axis("off")
    axes.ravel()[-1].text(0.0, 0.5, "image: linear\nlabels: label_linear,\nkept uint8\n"
                          "seeded, recorded\nin history", fontsize=9, va="center")
    fig.tight_layout()
    fig.savefig(out, dpi=72)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
