"""Which element is "the article under the headline" (``textblocks._best_range``).

Pages written here. The class of fault: a wrapper of the whole page holds the ``<h1>`` and
so always qualifies as the headline's element once its summed value passes
``HEADLINE_MIN_VALUE``; one sentence more anywhere on the page then turned the whole page,
furniture and all (font-size switch, back-to-top link), into the main text (seen on a
state-media page between two crawl days). And the case the headline rule exists for stays:
a page that scrolls into further articles keeps its own article, not the longest one.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import html as lxml_html

from hubwatch.text import textblocks
from hubwatch.text.extract import parse_page

FETCHED = datetime(2026, 5, 20, 2, 0, tzinfo=UTC)
TITLE = "京津冀协同发展取得新进展"
ARTICLE = [
    "新华社北京5月20日电 京津冀三地近日联合发布协同创新行动方案，提出到2027年建成一批共性技术平台。",
    "方案明确，三地将共建科技成果转化基金，推动北京的研发成果在天津、河北落地转化，并完善跨区域的人才流动机制。",
    "有关负责人表示，下一步将围绕集成电路、生物医药和新能源汽车等产业链，组织企业开展联合攻关，形成分工合理的产业布局。",
    "根据方案，三地还将统一科技项目的评审标准，互认创新券和高新技术企业资质，让企业在区域内跨地办理相关事项时少跑腿、"
    "不重复提交材料，同时建立季度会商制度，及时协调解决项目推进中遇到的土地、资金和审批等方面的实际困难。",
]
EXTRA = "“十五五”期间，三地将加快建设具有全球影响力的科技创新中心，持续优化营商环境。"
FURNITURE = ["2026-05-20 09:37", "来源：新华网", "分享到：", "微信", "微博", "链接已复制", "字体：小大",
             "打印", "收藏", "纠错"]


def _page(first_paragraph: str, furniture: list[str] = FURNITURE, above: str = "") -> str:
    controls = "".join(f'<div class="c{i}">{label}</div>' for i, label in enumerate(furniture))
    paragraphs = "".join(f"<p>{p}</p>" for p in [first_paragraph, *ARTICLE[1:]])
    footer = "".join("<p>" + "|".join(f"<a href='/{i}.html'>{item}</a>" for i, item in enumerate(line.split("|")))
                     + "</p>" for line in ["关于我们|联系我们|网站地图|版权声明|广告服务",
                                           "京ICP备00000000号|京公网安备00000000000号"])
    return (f"<html><head><title>{TITLE}_示例网</title></head><body><div class='page'>"
            f"<div class='crumb-line'>首页 &gt; 要闻 &gt; 正文</div>{above}<h1>{TITLE}</h1>{controls}"
            f"<div class='article'>{paragraphs}</div>"
            f"<div class='links'>{footer}</div><div class='gotop'><a href='#'>返回顶部</a></div>"
            f"</div></body></html>")


def _page_value(html: str) -> float:
    """The summed value of every block of the page (what its wrapper scores)."""
    walked = textblocks.walk(lxml_html.fromstring(html))
    walked.settle(TITLE)
    return sum(b.value for b in walked.blocks)


@pytest.mark.parametrize("first", [ARTICLE[0], ARTICLE[0] + EXTRA], ids=["as published", "one sentence more"])
def test_a_page_wrapper_is_never_the_article_however_much_prose_the_page_holds(first):
    html = _page(first)
    page = parse_page(html.encode(), url="https://news.example.cn/2026/0520/a.html",
                      content_type="text/html; charset=utf-8", fetched_at=FETCHED)
    assert page.text.split("\n\n") == [first, *ARTICLE[1:]]


@pytest.mark.parametrize("first", [ARTICLE[0], ARTICLE[0] + EXTRA], ids=["as published", "one sentence more"])
def test_a_byline_between_headline_and_article_changes_nothing(first):
    """A byline punctuated with 、 counts as punctuated text; it is no article of its own."""
    furniture = [*FURNITURE[:2], "作者：张三、李四", *FURNITURE[2:]]
    page = parse_page(_page(first, furniture).encode(), url="https://news.example.cn/2026/0520/a.html",
                      content_type="text/html; charset=utf-8", fetched_at=FETCHED)
    assert page.text.split("\n\n") == [first, *ARTICLE[1:]]


def test_prose_above_the_headline_never_displaces_the_article_under_it():
    """A notice set above the <h1> and worth more than the article is not the article
    under the headline (the page's best element must not end before the headline): the
    article under it stays in the text."""
    notice = "".join(f"<p>{sentence}</p>" for sentence in [
        "网站公告：为提升服务质量，本网站将于本周六凌晨零时至六时进行系统升级维护，届时部分栏目可能无法正常访问，由此带来的不便敬请谅解。",
        "升级期间，用户的注册信息和收藏内容不受影响，移动客户端和微信公众号仍可正常浏览新闻，如有疑问请拨打客服电话咨询。",
        "感谢广大读者长期以来的关注与支持，我们将继续努力，为大家提供更加权威、及时、全面的新闻资讯服务和更好的阅读体验。"])
    short = ARTICLE[:3]
    html = _page(short[0], above=f"<div class='notice'>{notice}</div>").replace(
        f"<p>{ARTICLE[3]}</p>", "")
    walked = textblocks.walk(lxml_html.fromstring(html))
    walked.settle(TITLE)
    values = {(f, l): sum(b.value for b in walked.blocks[f:l]) for f, l, _ in walked.ranges}
    whole = max(values, key=lambda r: r[1] - r[0])
    # the case it is: the notice is the page's best element, the wrapper qualifies
    assert max(values.values()) == values[(1, 4)] > values[whole] >= textblocks.HEADLINE_MIN_VALUE
    page = parse_page(html.encode(), url="https://news.example.cn/2026/0520/c.html",
                      content_type="text/html; charset=utf-8", fetched_at=FETCHED)
    assert all(p in page.text for p in short)


def test_the_two_pages_sit_either_side_of_the_headline_threshold():
    """What makes the test above bite: the wrapper qualifies under the headline rule for
    one version of the page and not for the other."""
    below, above = _page_value(_page(ARTICLE[0])), _page_value(_page(ARTICLE[0] + EXTRA))
    assert below < textblocks.HEADLINE_MIN_VALUE <= above


def test_a_page_scrolling_into_longer_articles_keeps_its_own():
    """The headline's element (the stream) holds this page's article, then longer ones with
    furniture between; the best element of the page is one of those, inside the stream. The
    page's own article must lead the main text, not give way to the longest one."""
    sentences = ["长三角生态绿色一体化发展示范区公布了新一批重点项目清单，涉及交通、水利、生态环境和公共服务等多个领域，"
                 "总投资规模较上年明显扩大，其中跨省域项目占比超过四成",
                 "示范区执委会表示，将进一步完善跨省域的项目协同推进机制，统一规划、统一标准、统一管理，"
                 "并定期向社会公开项目进展情况，接受企业和群众的监督",
                 "专家认为，这些项目的落地将有效提升区域基础设施互联互通水平，为全国其他地区的一体化发展"
                 "积累可复制可推广的制度经验，也为下一阶段的改革探索打下基础"]
    labels = "".join(f"<div class='x{k}'>标签{k}</div>" for k in range(36))  # furniture between stories
    others = "".join(f"{labels}<div class='item'><h2>其他新闻{i}</h2>"
                     + "".join(f"<p>{sentence}（{i}-{j}）。</p>" for j in range(2) for sentence in sentences)
                     + "</div>" for i in range(3))
    mine = "".join(f"<p>{p}</p>" for p in ARTICLE)
    html = (f"<html><head><title>{TITLE}</title></head><body><div class='stream'>"
            f"<h1>{TITLE}</h1><div class='lead'>{mine}</div>{others}</div></body></html>")
    walked = textblocks.walk(lxml_html.fromstring(html))
    walked.settle(TITLE)
    values = {(f, l): sum(b.value for b in walked.blocks[f:l]) for f, l, _ in walked.ranges}
    stream = max(values, key=lambda r: r[1] - r[0])
    lead = next(r for r in values if walked.blocks[r[0]].text == ARTICLE[0] and r[1] - r[0] == len(ARTICLE))
    # the case it is: a longer story outweighs the stream, which outweighs this page's article
    assert max(values.values()) > values[stream] > values[lead] >= textblocks.HEADLINE_MIN_VALUE
    page = parse_page(html.encode(), url="https://news.example.cn/2026/0520/b.html",
                      content_type="text/html; charset=utf-8", fetched_at=FETCHED)
    assert page.text.split("\n\n")[:len(ARTICLE)] == ARTICLE
