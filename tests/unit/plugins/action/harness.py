"""Run an action plugin of the collection with Ansible's own objects (a Task, a DataLoader, a
Templar, a PlayContext), without a play: the action is handed task_vars as the executor would.
Our actions run on the controller and never use the connection (``_requires_connection`` is
False); ActionBase only asks its shell whether a remote temporary directory exists."""

from types import SimpleNamespace

from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.template import Templar


def run_action(module, args=None, task_vars=None, check_mode=False):
    loader = DataLoader()
    task = Task()
    task.args = dict(args or {})
    task.check_mode = check_mode
    task_vars = dict(task_vars or {})
    connection = SimpleNamespace(_shell=SimpleNamespace(tmpdir=None))
    action = module.ActionModule(task=task, connection=connection, play_context=PlayContext(), loader=loader,
                                 templar=Templar(loader=loader, variables=task_vars), shared_loader_obj=None)
    return action.run(task_vars=task_vars)
