"""The check of a cost-to-go against Two-Rooms' true path lengths tells a V that knows the door
from one that measures the straight line through the wall."""
import numpy as np
import torch

from hjepa.envs.two_rooms import geodesic_distance
from hjepa.eval.value import value_against_geodesic


class StateReader(torch.nn.Module):
    """A stand-in encoder whose latent is the true state read off the image: agent (x, y) as the
    blob's centroid, the wall's column and the door's centre row."""

    def __init__(self):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # gives the module a device

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        agent, walls = obs[:, 0], obs[:, 1]
        grid = torch.arange(65.0)
        mass = agent.sum((1, 2))
        x, y = (agent.sum(1) * grid).sum(1) / mass, (agent.sum(2) * grid).sum(1) / mass
        interior = walls[:, 10:55, 10:55]
        wall_x = 10 + interior.sum(1).argmax(1).float()
        column = walls[torch.arange(len(obs)), 5:60, wall_x.long()]  # (N, 55) the wall's column, inside the border
        open_rows = 5 + torch.arange(55.0)
        door_y = ((1 - column) * open_rows).sum(1) / (1 - column).sum(1)
        return torch.stack([x, y, wall_x, door_y], -1)


def test_a_value_that_knows_the_door_scores_higher_on_the_other_room_than_the_straight_line():
    model = StateReader()

    def geodesic(z, g):
        z, g = torch.broadcast_tensors(z, g)
        return torch.from_numpy(geodesic_distance(z[..., :2].numpy(), g[..., :2].numpy(), z[..., 2].numpy(), z[..., 3].numpy()))

    def straight(z, g):
        return (z[..., :2] - g[..., :2]).norm(dim=-1)

    knows = value_against_geodesic(geodesic, model, layouts=6, positions=128)
    blind = value_against_geodesic(straight, model, layouts=6, positions=128)
    assert knows["rank_corr_geodesic_other_room"] > 0.97
    assert knows["rank_corr_geodesic_other_room"] > knows["rank_corr_straight_other_room"] + 0.1
    assert blind["rank_corr_straight_other_room"] > 0.99
    assert blind["rank_corr_geodesic_other_room"] < knows["rank_corr_geodesic_other_room"] - 0.1
    assert 0.9 < knows["steps_per_px"] < 1.1  # in px here: the ratio of V to the path length is 1
    np.testing.assert_allclose(blind["positions"], 128)
