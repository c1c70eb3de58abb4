"""The crew's code, as CrewAI projects have it. harness-audit reads it with `ast` only."""

import os

from crewai import Agent, Crew, Process, Task
from crewai.project import CrewBase, agent, crew, task
from crewai_tools import SerperDevTool

from tools import DeleteEmailTool

MODEL = os.getenv("MODEL", "gpt-4o-mini")


@CrewBase
class SupportCrew:
    @agent
    def triager(self) -> Agent:
        return Agent(config=self.agents_config["triager"], tools=[SerperDevTool()], llm=MODEL)

    @agent
    def cleaner(self) -> Agent:
        return Agent(config=self.agents_config["cleaner"], tools=[DeleteEmailTool()],
                     llm="anthropic/claude-3-5-haiku-20241022")

    @task
    def triage(self) -> Task:
        return Task(config=self.tasks_config["triage"], agent=self.triager())

    @task
    def clean(self) -> Task:
        return Task(config=self.tasks_config["clean"], agent=self.cleaner())

    @crew
    def crew(self) -> Crew:
        return Crew(agents=self.agents, tasks=self.tasks, process=Process.sequential)
