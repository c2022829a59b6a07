"""A stand-in for the visdom plotting server seed 002 streams its loss to (not installed, not needed)."""


class Visdom:
    def line(self, *args, **kwargs):
        return "window"
