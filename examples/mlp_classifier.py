"""A multilayer perceptron classifier — Flatten, Linear, ReLU, Linear, cross entropy, SGD.

By default on scikit-learn's bundled 8×8 digits (offline); with --fashion-mnist FOLDER on the IDX files of
Fashion-MNIST (the seed's 784-256-10 recipe, batch 256). Prints loss and accuracies per epoch; saves a
confusion matrix and a figure of misclassified images."""

from __future__ import annotations

import time

import numpy as np
from _common import parser, pyplot, save

import symnet as sn


def model(inputs: int, hidden: int = 256) -> sn.nn.Module:
    net = sn.nn.Sequential(sn.nn.Flatten(), sn.nn.Linear(inputs, hidden), sn.nn.ReLU(), sn.nn.Linear(hidden, 10))
    for layer in (net[1], net[3]):
        sn.nn.init.normal_(layer.weight, std=0.01)
        sn.nn.init.zeros_(layer.bias)
    return net


def datasets(folder):
    if folder:
        return sn.data.mnist(folder, train=True), sn.data.mnist(folder, train=False)
    return sn.data.digits(train=True), sn.data.digits(train=False)


def accuracy(step, dataset) -> tuple[float, np.ndarray]:
    images, labels = dataset.tensors
    predicted = step.predict(images).numpy().argmax(1)
    return float((predicted == labels.numpy()).mean()), predicted


def program():
    sn.manual_seed(0)
    net = model(64).name_parameters()
    x = sn.zeros(4, 8, 8, name="X")
    return sn.nn.CrossEntropyLoss()(net(x), sn.tensor([0, 1, 2, 3], name="Y")), None


def main(argv=None) -> dict:
    p = parser(__doc__)
    p.add_argument("--epochs", type=int, default=20, help="passes over the training set (default: 20)")
    p.add_argument("--batch-size", type=int, default=32, help="minibatch size (default: 32)")
    p.add_argument("--lr", type=float, default=0.1, help="SGD learning rate (default: 0.1)")
    p.add_argument("--fashion-mnist", metavar="FOLDER", help="folder with the Fashion-MNIST IDX files")
    args = p.parse_args(argv)
    sn.manual_seed(0)
    train, test = datasets(args.fashion_mnist)
    shape = train.tensors[0].shape[1:]
    net = model(int(np.prod(shape)))
    step = sn.compile(net, sn.nn.CrossEntropyLoss(), sn.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9))
    loader = sn.data.DataLoader(train, batch_size=args.batch_size, shuffle=True)
    began = time.perf_counter()
    for epoch in range(args.epochs):
        losses = step.fit(loader, epochs=1)
        train_acc, _ = accuracy(step, train)
        test_acc, _ = accuracy(step, test)
        print(f"epoch {epoch + 1:2d}  loss {np.mean(losses):.4f}  train acc {train_acc:.3f}  test acc {test_acc:.3f}")
    print(f"{args.epochs} epochs in {time.perf_counter() - began:.2f} s")
    test_acc, predicted = accuracy(step, test)
    labels = test.tensors[1].numpy()
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (labels, predicted), 1)

    plt = pyplot(args.show)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(confusion, cmap="Blues")
    for (i, j), count in np.ndenumerate(confusion):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"test accuracy {test_acc:.1%}")
    save(fig, "mlp_confusion", args)
    wrong = np.flatnonzero(predicted != labels)[:12]
    fig, axes = plt.subplots(2, 6, figsize=(10, 3.8))
    images = test.tensors[0].numpy().reshape(len(labels), *shape)
    for ax, k in zip(axes.flat, wrong, strict=False):
        ax.imshow(images[k], cmap="gray_r")
        ax.set_title(f"{labels[k]} → {predicted[k]}", fontsize=9)
    for ax in axes.flat:
        ax.axis("off")
    save(fig, "mlp_misclassified", args)
    return {"test_accuracy": test_acc, "confusion": confusion}


if __name__ == "__main__":
    main()
