"""The papermill engine of the build: papermill's nbclient engine with fewer saves.

papermill writes the executing notebook to its output path at every cell's start and end, each
time serialising (and validating) the whole notebook, whose embedded figures grow as it runs: 63
writes and about 0.5 s for a 30-cell service-time report, in every one of 50 reports. The build
reads the executed notebook only when the run is over. Here the notebook is written at most every
:data:`SAVE_EVERY_S` seconds while it runs, and always when it completes or fails (papermill
then writes the final notebook as before), so a kernel that dies mid-run still leaves the cells
that ran, at most that many seconds stale.
"""

from __future__ import annotations

from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

#: Name the engine is registered under (``papermill.execute_notebook(..., engine_name=ENGINE_NAME)``).
ENGINE_NAME = "wfa-nbclient"
#: Longest time (seconds) between two writes of a running notebook.
SAVE_EVERY_S = 10.0


class ThrottledSaves(NotebookExecutionManager):
    """papermill's execution manager, writing the running notebook at most every
    :data:`SAVE_EVERY_S` seconds and always at the end (:meth:`notebook_complete`)."""

    def save(self, **kwargs):
        if kwargs.get("nb"):
            self.nb = kwargs["nb"]
        if (self.now() - self.last_save_time).total_seconds() >= SAVE_EVERY_S:
            super().save(**kwargs)

    def notebook_complete(self, **kwargs):
        super().notebook_complete(**kwargs)
        NotebookExecutionManager.save(self)  # the final state, whenever the last write was


class ThrottledNBClientEngine(NBClientEngine):
    """papermill's nbclient engine run through :class:`ThrottledSaves`."""

    @classmethod
    def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                         autosave_cell_every=30, **kwargs):
        nb_man = ThrottledSaves(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                                autosave_cell_every=autosave_cell_every)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb


papermill_engines.register(ENGINE_NAME, ThrottledNBClientEngine)
