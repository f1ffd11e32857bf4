"""The examples under the Rerank tab: the seed scenario and typical zh/en questions."""

from __future__ import annotations

SEED_CANDIDATES = (
    "您购买的商品正在打包中，通常24小时内发出。\n"
    "退货流程：进入‘我的订单’→点击‘申请退货’→等待审核。\n"
    "促销活动期间订单量激增，发货时间可能延长至48小时。"
)
# (label, [question, preset, pasted answers, split mode]); the label is the question itself (data, not translated)
PASTE_EXAMPLES = [
    (
        "订单一直显示待发货怎么办？",
        ["订单一直显示待发货怎么办？", "orders", SEED_CANDIDATES, "lines"],
    ),
    (
        "I was charged twice for the same order",
        [
            "I was charged twice for the same order",
            "finance",
            "You can change your card under Account > Wallet at any time.\n"
            "A second charge is usually a pending authorisation; it drops off within 3-5 "
            "business days. If both charges post, contact us and we refund the duplicate the "
            "same day.\n"
            "Standard shipping is free on orders over $50.",
            "lines",
        ],
    ),
    (
        "How do I return a damaged item?",
        [
            "How do I return a damaged item?",
            "refunds",
            "Damaged on arrival?\nTake a photo of the item and the box, then open Account > "
            "Orders > Report a problem within 7 days. We send a prepaid label and refund you "
            "once it is scanned.\n\nGift cards cannot be returned or exchanged.\n\nTo cancel an "
            "order, open Account > Orders within 30 minutes of paying.",
            "blank_lines",
        ],
    ),
]
# (question, preset, file name of the FAQ base)
FAQ_EXAMPLES = [
    ("付完款两天了还是待发货，啥时候能发啊", "orders", "zh_ecommerce_faq.csv"),
    ("快递三天没动静了，物流一直停在中转站", "orders", "zh_ecommerce_faq.csv"),
    ("can u ship to germany and will i pay customs", "orders", "en_store_faq.csv"),
    ("I forgot my password and the reset email never arrives", "account", "en_store_faq.csv"),
]
