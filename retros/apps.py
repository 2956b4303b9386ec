from django.apps import AppConfig


class RetrosConfig(AppConfig):
    name = "retros"
    verbose_name = "Retrospectives"

    def ready(self) -> None:
        from matching import heap

        # Large transient arrays (index loading) go back to the system when freed.
        heap.map_large_blocks()
