from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class QueuesConfig(AppConfig):
    """The message queue framework: declarations, transports, consumers."""

    name = "queues"
    verbose_name = "Message queues"

    def ready(self) -> None:
        from importlib import import_module

        from queues import checks, conf

        conf.queue_settings.validate()  # a malformed QUEUE_* variable stops start-up here

        # Every installed app may declare topics, topology, publishers and consumers
        # in its own queues.py.
        autodiscover_modules("queues")
        # Declarations outside apps (QUEUES["DECLARATION_MODULES"]), e.g. a deployment's own.
        for module in conf.queue_settings.DECLARATION_MODULES:
            import_module(module)
        checks.register()
