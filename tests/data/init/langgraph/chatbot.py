"""A chatbot graph in the shape of the LangGraph tutorials (never run by the tests)."""

from typing import Annotated, Literal

from langchain.chat_models import init_chat_model
from langchain_core.tools import tool
from langchain_tavily import TavilySearch
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict


class State(TypedDict):
    messages: Annotated[list, add_messages]


@tool
def send_reply(text: str) -> str:
    """Send the reply to the customer."""
    return text


@tool
def delete_ticket(ticket_id: str) -> str:
    """Delete a ticket."""
    return ticket_id


search = TavilySearch(max_results=2)
tools = [search, send_reply]
llm = init_chat_model("anthropic:claude-3-5-sonnet-latest")
llm_with_tools = llm.bind_tools(tools)
reviewer_llm = init_chat_model("gpt-4.1", model_provider="openai")


def chatbot(state: State):
    return {"messages": [llm_with_tools.invoke(state["messages"])]}


def reviewer(state: State):
    return {"messages": [reviewer_llm.invoke(state["messages"])]}


def route_review(state: State) -> Literal["cleanup", "__end__"]:
    if "delete" in state["messages"][-1].content:
        return "cleanup"
    return END


def cleanup(state: State):
    answer = interrupt({"question": "delete this ticket?"})
    if answer != "yes":
        return Command(goto=END)
    return {"messages": [delete_ticket.invoke({"ticket_id": "1"})]}


builder = StateGraph(State)
builder.add_node("chatbot", chatbot)
builder.add_node("tools", ToolNode(tools=tools))
builder.add_node(reviewer)
builder.add_node("cleanup", cleanup)
builder.add_edge(START, "chatbot")
builder.add_conditional_edges("chatbot", tools_condition)
builder.add_edge("tools", "chatbot")
builder.add_edge("chatbot", "reviewer")
builder.add_conditional_edges("reviewer", route_review)
graph = builder.compile(checkpointer=InMemorySaver(), interrupt_before=["tools"])
